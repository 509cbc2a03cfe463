"""W5: where a batch should run. The same fits timed with ``device="cpu"`` and ``device="accelerator"``
in one process on a machine with a GPU, to show where ``device="auto"`` should switch
(:data:`scaling.infer.devices.CPU_RUNS_PER_DEVICE`, :data:`scaling.infer.lbfgs.CPU_PROBLEM_POINTS`).

* ``nuts``: ``fit_many`` on 1, 8 and 32 of W3's 30-point datasets (4 chains x 1,000 warm-up x 1,000
  draws), one warm-up call per device and size (compilation), then the median of ``--repeats`` calls;
* ``point``: ``fit_point`` (64 prior starts screened to 32) on one dataset, and with 200 bootstrap
  replicates.

JAX is given one CPU device per core, as the CLI does. Needs an accelerator.

    python bench/w5_device.py --out bench/results/gpu/w5.jsonl
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("JAX_NUM_CPU_DEVICES", str(os.cpu_count() or 1))

from common import Recorder, add_common_args, repeats_arg, time_call, timing_fields  # noqa: E402
from w3_many import make_datasets  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(p, repeats=2)
    p.add_argument("--sizes", default="1,8,32", help="numbers of datasets for the NUTS rows")
    args = p.parse_args()
    import jax
    import pandas as pd

    import scaling
    from scaling.infer import devices

    if jax.default_backend() == "cpu":
        raise SystemExit("W5 compares the CPU with an accelerator: JAX finds none on this machine.")
    repeats = repeats_arg(args, default=2)
    rec = Recorder("w5", args, args.quick, args.out)
    rec.machine()
    steps = 150 if args.quick else 1000
    data, _ = make_datasets(max(int(s) for s in args.sizes.split(",")))
    names = list(data)
    for size in (int(s) for s in args.sizes.split(",")):
        batch = {k: data[k] for k in names[:size]}
        for device in ("cpu", "accelerator"):
            t = time_call(
                lambda i, batch=batch, device=device: scaling.fit_many(
                    batch, "logistic", x="flop", y="score", seed=i, progress=False, device=device,
                    num_warmup=steps, num_samples=steps,
                ),
                repeats,
            )  # fmt: skip
            rec.emit(f"nuts_{size}_{device}", **timing_fields(t), device=device, n_datasets=size, runs=4 * size,
                     auto=devices.platform(4 * size))  # fmt: skip
    d = pd.DataFrame(data[names[0]])
    power = pd.DataFrame({"flop": d["flop"], "loss": 3.0 * (d["flop"] / 1e19) ** -0.1})
    for n_bootstrap in (0, 200):
        for device in ("cpu", "accelerator"):
            t = time_call(
                lambda i, nb=n_bootstrap, device=device: scaling.fit_point(
                    power, "power_law", x="flop", y="loss", num_bootstrap=nb, seed=i, device=device
                ),
                repeats,
            )
            name = f"point_{device}" if n_bootstrap == 0 else f"point_bootstrap{n_bootstrap}_{device}"
            rec.emit(name, **timing_fields(t), device=device, n_bootstrap=n_bootstrap)


if __name__ == "__main__":
    main()
