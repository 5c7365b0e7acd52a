"""The jury for the most creative prize: the ranking model (:mod:`~oyren.jury.model`: comparisons
and orders fitted with juror reliability, P(best)) and rounds (:mod:`~oyren.jury.rounds`: which
entries to ask about next, when to stop). Pure, like the rules: judgments in, order out. May
import the rules, the inputs (judgments) and the base modules.
"""
