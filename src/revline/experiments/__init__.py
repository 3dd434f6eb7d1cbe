"""Experiments domain: Thompson-sampling bandits, observations, posteriors, model registry."""
