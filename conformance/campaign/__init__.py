"""The IFVC evaluation campaign (project issue 5): codecs x rate points x sequences ->
streams, decoded sequences, per-frame metrics, a tidy results table, a JVET-style summary,
BD-rates against the VVC anchor and RD plots, resumable cell by cell.

    python -m conformance.campaign run --config conformance/campaign/configs/gfvc_ctc.json \\
        --out work/campaign [--sequences NAME ...] [--frames N] [--codecs ifvc,vvc,hevc] \\
        [--jobs 1] [--vgg-stride K] [--executor local|dask] [--scheduler tcp://HOST:PORT]
    python -m conformance.campaign compare A/results.csv B/results.csv [--tolerance NAME=V]
    python -m conformance.campaign merge LAB_A LAB_B ... --out DIR
"""
from .bd_rate import BDResult, bd_rate
from .campaign import CampaignOutcome, run_campaign
from .compare import compare_tables
from .config import CampaignConfig, load_config
from .errors import CampaignError

__all__ = ["BDResult", "CampaignConfig", "CampaignError", "CampaignOutcome", "bd_rate",
           "compare_tables", "load_config", "run_campaign"]
