"""Campaign templates for bulk launches: the model, validation, JSON documents, naming and the
TikTok request bodies a launch sends (framework-free; imports core only)."""

from __future__ import annotations

from core.templates.model import AdGroupSpec, AdSpec, CampaignSpec, Naming, Template
from core.templates.validate import Problem, check_for_launch, validate

__all__ = [
    "AdGroupSpec",
    "AdSpec",
    "CampaignSpec",
    "Naming",
    "Problem",
    "Template",
    "check_for_launch",
    "validate",
]
