"""A learned image codec (Ballé et al. 2017) and its byte format, against JPEG and WebP.

The `Codec` family lives in the model registry like every other family; importing
`latentlab.models` first lets the registry import `latentlab.codec.model` without a cycle.
"""

import latentlab.models  # noqa: F401  (must precede the submodule imports below)
from latentlab.codec.model import Codec

__all__ = ["Codec"]
