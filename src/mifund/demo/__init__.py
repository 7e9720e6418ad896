"""The synthetic demo municipality (issue #4): `generate(size, seed, out_dir)`.

See mifund.demo.generate for the files written, mifund.demo.calibration (and CALIBRATION.md) for the
targets and their sources, mifund.demo.abuse for the planted abuse and near-misses.
"""

from mifund.demo.generate import SIZES, Result, generate

__all__ = ["SIZES", "Result", "generate"]
