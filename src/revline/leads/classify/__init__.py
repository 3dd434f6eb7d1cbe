"""Industry-vertical classification: exact rules, learned rules, fuzzy/phonetic, then LLM."""

from revline.leads.classify.cascade import (
    LAYERS,
    Cascade,
    Classification,
    ClassifyInput,
    LearnedRule,
    LLMClassifier,
    learn_key,
)
from revline.leads.classify.dictionary import VerticalDictionary, name_key, normalize
from revline.leads.classify.fuzzy import FuzzyMatcher, consensus

__all__ = [
    "LAYERS",
    "Cascade",
    "Classification",
    "ClassifyInput",
    "FuzzyMatcher",
    "LLMClassifier",
    "LearnedRule",
    "VerticalDictionary",
    "consensus",
    "learn_key",
    "name_key",
    "normalize",
]
