"""Neurodata Without Borders (NWB) export of simulated electrophysiology, through pynwb.

What is written, in SI units through NWB's ``conversion`` (data stay in mV or ms as simulated):

- ``train``: EPP peak amplitude of every junction at every stimulus (``acquisition/epp_amplitude``),
  mean quanta released and fraction of fibres firing per stimulus, the stimulus times.
- ``sfemg``: latency of each fibre of each pair at every discharge and the inter-potential interval
  (NaN where the fibre blocked), and a per-pair table of jitter (MCD) and blocking.
- ``cmap``: the supramaximal CMAP waveform as an ``ElectricalSeries`` from one surface electrode.
- ``cmap-scan``: the stimulus intensities (``stimulus/``), the CMAP amplitude and the number of
  units firing at each stimulus, with the true number of units.

The seed, the protocol settings and every parameter value go into the file's ``notes`` (JSON), so
a recording can be replayed. Files are written to a temporary sibling and renamed.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from endplate._version import __version__
from endplate.errors import EndplateInputError
from endplate.io.atomic import atomic_path

NWB_PROTOCOLS = ("train", "sfemg", "cmap", "cmap-scan")
SPECIES_LATIN = {"mouse": "Mus musculus", "human": "Homo sapiens"}
MV = 1e-3  # NWB conversion from mV to volts
MS = 1e-3  # and from ms to seconds


def _nwbfile(protocol: str, provenance: dict, description: str):
    from pynwb import NWBFile
    from pynwb.file import Subject

    species = provenance.get("species", "")
    nwb = NWBFile(
        session_description=f"endplate simulation, protocol {protocol}: {description}",
        identifier=str(uuid.uuid4()),
        session_start_time=datetime.now(UTC),
        experiment_description="Simulated recording from the endplate model of the neuromuscular junction; no animal or "
        "patient was recorded.",
        source_script=f"endplate {__version__} (protocol {protocol}, seed {provenance.get('seed')})",
        source_script_file_name="endplate",
        notes=json.dumps(provenance, sort_keys=True, default=str),
        keywords=["simulation", "neuromuscular junction", "endplate", protocol],
        session_id=f"{protocol}-seed{provenance.get('seed')}",
    )
    nwb.subject = Subject(
        subject_id="simulated",
        species=SPECIES_LATIN.get(species, species),
        description=f"simulated {species}" + (f" {provenance['muscle']}" if "muscle" in provenance else ""),
    )
    return nwb


def _train(ds, nwb) -> None:
    from pynwb import TimeSeries

    t_s = ds["time_ms"].values * MS
    traces = ds["epp_mv_trace"].values.T  # NWB puts time first: (stimulus, junction)
    nwb.add_acquisition(
        TimeSeries(
            name="epp_amplitude",
            data=traces,
            unit="volts",
            conversion=MV,
            timestamps=t_s,
            description="peak endplate potential of each junction (columns) at each stimulus of the train",
        )
    )
    nwb.add_acquisition(
        TimeSeries(
            name="mean_quanta",
            data=ds["quanta"].values,
            unit="quanta",
            timestamps=t_s,
            description="quanta released per stimulus, mean over junctions",
        )
    )
    nwb.add_acquisition(
        TimeSeries(
            name="fired_fraction",
            data=ds["fired_fraction"].values,
            unit="fraction",
            timestamps=t_s,
            description="fraction of fibres reaching threshold at each stimulus",
        )
    )
    nwb.add_stimulus(
        TimeSeries(
            name="nerve_stimuli",
            data=np.ones(t_s.size),
            unit="stimuli",
            timestamps=t_s,
            description="supramaximal nerve stimuli delivered to a rested junction",
        )
    )


def _sfemg(ds, nwb) -> None:
    from hdmf.common import DynamicTable, VectorData
    from pynwb import TimeSeries

    t_s = ds["discharge_time_ms"].values * MS
    latency = ds["latency_ms"].values  # (pair, fibre, discharge)
    n_pairs = latency.shape[0]
    nwb.add_acquisition(
        TimeSeries(
            name="sfemg_latency",
            data=latency.reshape(2 * n_pairs, -1).T,
            unit="seconds",
            conversion=MS,
            timestamps=t_s,
            description="latency from discharge to the action potential of each fibre; columns are pair 0 fibre 0, pair 0 "
            "fibre 1, pair 1 fibre 0, ...; NaN where the fibre blocked",
        )
    )
    nwb.add_acquisition(
        TimeSeries(
            name="sfemg_interpotential_interval",
            data=(latency[:, 1, :] - latency[:, 0, :]).T,
            unit="seconds",
            conversion=MS,
            timestamps=t_s,
            description="second minus first fibre latency of each pair (columns); NaN if either fibre blocked",
        )
    )
    table = DynamicTable(
        name="jitter",
        description="jitter per fibre pair: mean consecutive difference and blocking",
        columns=[
            VectorData(name="mcd_us", description="mean consecutive difference (microseconds)", data=ds["pair_mcd_us"].values),
            VectorData(
                name="blocking_percent",
                description="discharges with a blocked fibre (%)",
                data=ds["pair_blocking_percent"].values,
            ),
        ],
    )
    nwb.create_processing_module(name="sfemg", description="jitter analysis of the simulated recording").add(table)


def _electrode(nwb, provenance: dict):
    device = nwb.create_device(
        name="surface_electrode",
        description="simulated surface recording electrode over the motor point, volume conductor of endplate",
    )
    muscle = provenance.get("muscle", "muscle")
    group = nwb.create_electrode_group(name="surface", description="active surface electrode", location=muscle, device=device)
    nwb.add_electrode(group=group, location=muscle)
    return nwb.create_electrode_table_region(region=[0], description="the surface electrode")


def _cmap(result: dict, nwb, provenance: dict) -> None:
    from pynwb.ecephys import ElectricalSeries

    t_ms = np.asarray(result["time_ms"], float)
    nwb.add_acquisition(
        ElectricalSeries(
            name="cmap",
            data=np.asarray(result["waveform_mv"], np.float32)[:, None],
            electrodes=_electrode(nwb, provenance),
            conversion=MV,
            starting_time=float(t_ms[0]) * MS,
            rate=1.0 / (float(t_ms[1] - t_ms[0]) * MS),
            description=f"supramaximal CMAP; negative-peak amplitude {result['amplitude_mv']:.3f} mV",
        )
    )


def _cmap_scan(scan: dict, nwb, provenance: dict) -> None:
    from pynwb import TimeSeries

    spacing = dict(starting_time=0.0, rate=1.0)
    note = (
        "stimuli in the order delivered (descending intensity); the model has no interaction between stimuli, "
        "so their 1 s spacing is nominal"
    )
    nwb.add_stimulus(
        TimeSeries(
            name="stimulus_intensity",
            data=np.asarray(scan["stimulus_ma"], float),
            unit="amperes",
            conversion=1e-3,
            description=note,
            **spacing,
        )
    )
    nwb.add_acquisition(
        TimeSeries(
            name="cmap_amplitude",
            data=np.asarray(scan["cmap_mv"], float),
            unit="volts",
            conversion=MV,
            description=f"negative-peak CMAP amplitude; {note}",
            **spacing,
        )
    )
    nwb.add_acquisition(
        TimeSeries(
            name="units_firing",
            data=np.asarray(scan["units_firing"], np.int32),
            unit="motor units",
            description=f"motor units firing at each stimulus (ground truth, {scan['true_units']} functioning units)",
            **spacing,
        )
    )


def write_nwb(path: str | Path, protocol: str, data, provenance: dict, description: str = "") -> None:
    """Write ``data`` of ``protocol`` to the NWB file ``path`` atomically.

    ``data`` is the protocol's xarray Dataset (``train``, ``sfemg``) or its result dict (``cmap``:
    ``time_ms``, ``waveform_mv``; ``cmap-scan``: the scan with ``stimulus_ma``, ``cmap_mv``,
    ``units_firing``, ``true_units``). ``provenance`` holds at least ``seed`` and ``species``.
    """
    from pynwb import NWBHDF5IO

    path = Path(path)
    if protocol not in NWB_PROTOCOLS:
        raise EndplateInputError(f"NWB export covers {', '.join(NWB_PROTOCOLS)}, not {protocol!r}")
    if path.suffix.lower() != ".nwb":
        raise EndplateInputError(f"--nwb must end in .nwb, got {str(path)!r}")
    nwb = _nwbfile(protocol, provenance, description or protocol)
    if protocol == "train":
        _train(data, nwb)
    elif protocol == "sfemg":
        _sfemg(data, nwb)
    elif protocol == "cmap":
        _cmap(data, nwb, provenance)
    else:
        _cmap_scan(data, nwb, provenance)
    with atomic_path(path) as tmp:
        with NWBHDF5IO(str(tmp), "w") as io:
            io.write(nwb)
