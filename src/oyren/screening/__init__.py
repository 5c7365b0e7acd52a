"""Screening: what informs people and never decides.

Integrity flags (view spikes and drops, engagement outliers, re-uploads, lockstep groups) measured
against the campaign's own yardsticks, topics from the campaign's themes, the moderation queue's
order (triage) and the words of evidence. :class:`~oyren.screening.screener.CampaignScreener` is
what the engine takes. May import the rules, the inputs and the base modules.
"""
