"""The vocabulary every layer shares: plans, parameters, regions, errors. Depends on nothing else."""
from .errors import PlanError, RetouchError
from .params import GLOBAL_PARAMS, LOCAL_PARAMS, PARAMS, Param, canonical_name, param
from .plan import OURS, SCHEMA_VERSION, USER, Mask, Note, RegionEdit, RetouchPlan, Spot, new_sync_id
from .regions import REGIONS, Region, region

__all__ = [
    "GLOBAL_PARAMS", "LOCAL_PARAMS", "OURS", "PARAMS", "SCHEMA_VERSION", "USER", "Mask", "Note", "Param",
    "PlanError", "REGIONS", "Region", "RegionEdit", "RetouchError", "RetouchPlan", "Spot",
    "canonical_name", "new_sync_id", "param", "region",
]
