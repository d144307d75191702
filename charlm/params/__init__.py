"""params.yaml: what each key accepts and means (schema), and reading the file (load).

    seed, train = params.load("seed", "train")     # a stage reads only its own sections

A bad value is refused with one line naming the key and what it accepts, before any work starts.
"""

from charlm.params.controls import Controls
from charlm.params.describe import accepts
from charlm.params.load import PARAMS_FILE, Loader, checked, load, read, section
from charlm.params.schema import (
    MODEL_LIMITS,
    SECTIONS,
    CorpusParams,
    EvaluateParams,
    ModelParams,
    Params,
    PlotParams,
    PrepareParams,
    SampleParams,
    SeedParams,
    TrainParams,
)

__all__ = ["MODEL_LIMITS", "PARAMS_FILE", "SECTIONS", "Controls", "CorpusParams", "EvaluateParams", "Loader",
           "ModelParams", "Params", "PlotParams", "PrepareParams", "SampleParams", "SeedParams",
           "TrainParams", "accepts", "checked", "load", "read", "section"]
