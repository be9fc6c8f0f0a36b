"""The page: controls on the left; disease course, cross-section and EMG lab on the right.

Long computations run in a worker thread (``EXECUTOR``); the event loop only polls their
progress and draws the result, so the page never freezes. Every value from the browser goes
through ``lab.check_inputs`` before it is used; nothing typed is executed or opened as a file.
"""

from __future__ import annotations

import asyncio
import html
from concurrent.futures import ThreadPoolExecutor

import panel as pn

from endplate.app import guard, lab, plots
from endplate.app.scan_upload import ScanUpload
from endplate.app.visits_upload import VisitsPanel
from endplate.errors import EndplateInputError
from endplate.readings import shown

# One worker: simulations queue (the compiled kernels already use every core, and Numba's
# fallback threading layer must not be entered from two threads at once).
EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="endplate-app")
POLL_S = 0.2


class LabPage:
    """One browser session's page and state."""

    def __init__(self) -> None:
        c = lab.choices()
        self.choices = c
        w = pn.widgets
        self.species = w.Select(label="Species", options=c["species"], value="mouse")
        self.muscle = w.Select(label="Muscle", options=c["muscles"]["mouse"], value="TA")
        self.genotype = w.Select(label="Genotype", options=c["genotypes"]["mouse"], value="SOD1-G93A")
        self.hypothesis = w.Select(label="Hypothesis", options=c["hypotheses"], value="dying_back")
        self.interventions = w.MultiChoice(
            label="Interventions",
            options=c["interventions"],
            value=[],
            disabled=not c["interventions"],
            placeholder="choose" if c["interventions"] else "none available yet",
        )
        self.seed = w.IntInput(label="Seed", value=1, start=0, end=lab.MAX_SEED)
        self.run_course = w.Button(label="Simulate disease course", color="primary")
        self.age = w.IntSlider(label="Age for the EMG lab (day)", start=20, end=150, value=100)
        self.run_lab = w.Button(label="Run EMG lab", color="success")
        self.day = w.IntSlider(label="Day", start=20, end=150, value=100, disabled=True, width=700)
        self.progress = pn.indicators.Progress(value=0, max=100, width=260, visible=False)
        self.status = pn.pane.Alert("Choose a muscle and press *Simulate disease course*.", alert_type="info")
        self.day_readout = pn.pane.Markdown("", sizing_mode="stretch_width")
        self.course_plot = pn.pane.Matplotlib(None, dpi=90, tight=True, format="png", sizing_mode="stretch_width")
        self.section_plot = pn.pane.Matplotlib(None, dpi=80, tight=True, format="png", sizing_mode="stretch_width")
        self.lab_plot = pn.pane.Matplotlib(None, dpi=90, tight=True, format="png", sizing_mode="stretch_width")
        self.lab_table = pn.pane.Markdown("", sizing_mode="stretch_width")
        self.course = None
        self.scan_upload = ScanUpload()
        self.visits = VisitsPanel(self._in_worker, self.status)
        self.species.param.watch(self._species_changed, "value")
        self.genotype.param.watch(self._ages_changed, "value")
        self.day.param.watch(self._day_changed, "value_throttled")
        self.run_course.on_click(self._simulate_course)
        self.run_lab.on_click(self._simulate_lab)

    # --- inputs -------------------------------------------------------------------------------
    def _inputs(self) -> lab.Inputs:
        return lab.check_inputs(
            self.species.value,
            self.muscle.value,
            self.genotype.value,
            self.hypothesis.value,
            tuple(self.interventions.value),
            self.seed.value,
        )

    def _species_changed(self, event) -> None:
        sp = event.new if event.new in self.choices["species"] else "mouse"
        self.muscle.options = self.choices["muscles"][sp]
        self.muscle.value = self.muscle.options[0]
        self.genotype.options = self.choices["genotypes"][sp]
        self.genotype.value = next((g for g in self.genotype.options if g != "wild-type"), self.genotype.options[0])
        self._ages_changed()

    def _ages_changed(self, *_) -> None:
        try:
            first, last = lab.age_range(self._inputs())
        except EndplateInputError:
            return
        self.age.param.update(start=first, end=last, value=min(max(self.age.value, first), last))

    # --- running work off the event loop ------------------------------------------------------
    async def _in_worker(self, label: str, work):
        """Run ``work(progress)`` in a worker thread while the bar shows its progress."""
        done = {"fraction": 0.0}

        def progress(i, n):
            done["fraction"] = i / max(n, 1)

        self.progress.param.update(value=0, visible=True)
        self.status.param.update(object=f"{label}...", alert_type="info")
        future = asyncio.get_running_loop().run_in_executor(EXECUTOR, work, progress)
        while not future.done():
            self.progress.value = int(100 * done["fraction"])
            await asyncio.sleep(POLL_S)
        self.progress.param.update(value=100, visible=False)
        return future.result()

    def _busy(self, busy: bool) -> None:
        self.run_course.disabled = busy
        self.run_lab.disabled = busy

    def _fail(self, exc: Exception) -> None:
        # Messages can quote a tampered value: escape it, the page shows it as text.
        if isinstance(exc, EndplateInputError):
            self.status.param.update(object=f"**Input not accepted:** {html.escape(str(exc))}", alert_type="danger")
        else:  # a bug: say so plainly, keep the page alive
            self.status.param.update(
                object=f"**The simulation failed:** {type(exc).__name__}: {html.escape(str(exc))}", alert_type="danger"
            )

    async def _simulate_course(self, _event=None) -> None:
        self._busy(True)
        try:
            inputs = self._inputs()
            label = f"Simulating {inputs.genotype} {inputs.muscle} ({inputs.hypothesis}){_duration(inputs)}"
            ds = await self._in_worker(label, lambda progress: lab.disease_course(inputs, progress))
        except Exception as exc:  # noqa: BLE001 - reported on the page
            self._fail(exc)
            return
        finally:
            self._busy(False)
        self.course = ds
        first, last = int(ds.day.values[0]), int(ds.day.values[-1])
        self.day.param.update(start=first, end=last, value=int(ds.probe_day.values[-2]), disabled=False)
        self._draw_course()
        onset = ds.attrs["onset_day"]
        self.status.param.update(
            object=f"Disease course ready: {inputs.genotype}, {inputs.muscle}, {inputs.hypothesis}, seed {inputs.seed}; "
            f"onset {'not reached' if onset < 0 else f'on day {onset:.0f}'}.",
            alert_type="success",
        )

    async def _simulate_lab(self, _event=None) -> None:
        self._busy(True)
        try:
            inputs = self._inputs()
            age = self.age.value
            result = await self._in_worker(
                f"Recording the {inputs.muscle} on day {age}{_duration(inputs)}",
                lambda progress: lab.emg_lab(inputs, age, progress),
            )
        except Exception as exc:  # noqa: BLE001 - reported on the page
            self._fail(exc)
            return
        finally:
            self._busy(False)
        self.lab_plot.object = plots.lab_figure(result)
        rows = "".join(f"| {m} | {shown(v, 'estimate', '.0f')} |\n" for m, v in result["mune"].items())
        self.lab_table.object = (
            f"| MUNE method | estimate |\n|---|---|\n{rows}| **true count** | **{result['true_units']}** |\n\n"
            f"Innervated fibres: {result['innervated_percent']:.0f} %. "
            f"Fibre density: {shown(result['sfemg'], 'fibre_density')}."
        )
        self.status.param.update(
            object=f"EMG lab ready: {inputs.muscle} on day {age}, seed {inputs.seed}; jitter "
            f"{shown(result['sfemg'], 'mcd_us', '.1f')} µs, 3 Hz decrement "
            f"{shown(result['rns'], 'decrement_percent', '.1f')} %, true units {result['true_units']}.",
            alert_type="success",
        )

    # --- drawing ------------------------------------------------------------------------------
    def _day_changed(self, _event) -> None:
        if self.course is not None:
            self._draw_course()

    def _draw_course(self) -> None:
        ds, day = self.course, int(self.day.value)
        self.course_plot.object = plots.course_figure(ds, day)
        self.section_plot.object = plots.cross_section_figure(ds, day)
        v = ds.sel(muscle=ds.muscle.values[0])
        at = v.sel(day=day)
        mune_at = v.sel(mune_day=day, method="nearest")
        self.day_readout.object = (
            f"**Day {day}:** innervated {float(at.innervated_percent):.0f} %, motor neurons "
            f"{float(at.motor_neurons_percent):.0f} %, force {float(at.force_percent):.0f} %, CMAP "
            f"{float(v.cmap_percent.sel(readout_day=day, method='nearest')):.0f} % (day "
            f"{int(v.readout_day.sel(readout_day=day, method='nearest'))}), MUNE {float(mune_at.mune):.0f} beside "
            f"{int(mune_at.mune_true)} true units. Cross-section from day {plots.nearest_probe(ds, day)}."
        )

    def view(self) -> pn.viewable.Viewable:
        controls = pn.Column(
            "## endplate lab",
            "Simulate the disease in one muscle, then record from it at any age.",
            self.species,
            self.muscle,
            self.genotype,
            self.hypothesis,
            self.interventions,
            self.seed,
            self.run_course,
            pn.layout.Divider(),
            self.age,
            self.run_lab,
            pn.layout.Divider(),
            self.progress,
            width=300,
        )
        main = pn.Column(
            self.status,
            "### Disease course",
            self.day,
            self.day_readout,
            self.course_plot,
            "### Muscle cross-section",
            self.section_plot,
            "### Virtual EMG lab",
            self.lab_table,
            self.lab_plot,
            self.scan_upload.view(),
            self.visits.view(),
            sizing_mode="stretch_width",
        )
        return pn.Row(controls, main, sizing_mode="stretch_width")


def _duration(inputs: lab.Inputs) -> str:
    # Human courses step a muscle of tens of thousands of fibres through years, day by day.
    return "; a human muscle over years takes up to a minute" if inputs.species == "human" else ""


def create_page() -> pn.viewable.Viewable:
    """A fresh page for one browser session."""
    return LabPage().view()


def serve(port: int = 5006, show: bool = True) -> None:
    """Serve the app on 127.0.0.1 until interrupted, answering only to localhost names (see ``guard``)."""
    pn.extension(design="native")
    server = pn.serve(
        {"/": create_page},
        port=port,
        address="127.0.0.1",
        websocket_origin=sorted(guard.local_hosts(port)),
        show=show,
        title="endplate lab",
        print_url=True,
        start=False,
        extra_patterns=[(guard.COMPONENTS_ROUTE, guard.LoadedComponents, {})],  # before Panel's own
        websocket_max_message_size=guard.MAX_MESSAGE_BYTES,
        http_server_kwargs={"max_body_size": guard.MAX_BODY_BYTES, "max_buffer_size": guard.MAX_BODY_BYTES},
    )
    guard.refuse_foreign_hosts(server, port)
    server.start()
    server.io_loop.start()
