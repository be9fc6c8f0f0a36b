from endplate.cli import main

main()
