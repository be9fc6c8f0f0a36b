"""The browser app (`endplate app`): ``lab`` computes, ``plots`` draws, ``ui`` is the Panel page."""
