"""The contest, pure: what a campaign is and how its entries are decided and ranked.

The campaign file's rules (campaign, hashtags), what an observation is, people's decisions,
eligibility with its reasons, views at the deadline, videos grouped from observations, the prizes
and their tie-breaks, the results and their explanations, and the engine that puts them together.
Inputs in, results out: no files, no network, no database, no clock. It is the executable
specification the store's rows and the batch plan are tested against. Imports only the base
modules (``oyren.errors``, ``oyren.clock``, ``oyren.settings``) and itself.
"""
