"""Words: the core's codes and facts put into sentences in the reader's language.

The core decides and explains with codes (:mod:`oyren.rules.eligibility`,
:mod:`oyren.rules.explain`); only
here do they become text, through the gettext catalogs, with dates and numbers in the reader's
locale. Returned strings are plain text: templates escape them like anything else, which matters
for the moderator's note and anything else quoted from a person.
"""

from __future__ import annotations

from collections.abc import Iterable

from oyren.rules.explain import Explanation
from oyren.web.i18n import Translator

__all__ = [
    "action_text",
    "basis_text",
    "explanation_text",
    "fix_text",
    "lookup_problem_text",
    "reason_title",
    "region_list",
    "region_name",
    "role_text",
    "status_text",
]


def region_name(t: Translator, code: str) -> str:
    """The name of a country in the reader's language (the code when unknown)."""
    return str(t.locale.territories.get(code, code))


def region_list(t: Translator, codes: Iterable[str]) -> str:
    """Country names, comma-separated, in the reader's language and alphabetical order."""
    return ", ".join(sorted(region_name(t, code) for code in codes))


def reason_title(t: Translator, reason: str) -> str:
    """A short label for a reason code."""
    titles = {
        "no_campaign_hashtag": t.gettext("No contest hashtag"),
        "outside_window": t.gettext("Posted outside the contest dates"),
        "too_short": t.gettext("Too short"),
        "duration_unknown": t.gettext("Length not known yet"),
        "outside_region": t.gettext("Account from another country"),
        "region_unknown": t.gettext("Country not known yet"),
        "partner_account": t.gettext("Partner institution"),
        "removed": t.gettext("Deleted or made private"),
        "excluded_by_moderator": t.gettext("Excluded by a moderator"),
    }
    return titles.get(reason, reason)


def _moment(t: Translator, e: Explanation) -> dict[str, str]:
    return {
        "time": t.time(e.posted_at),
        "day": t.day_month(e.posted_at),
        "city": t.city(str(e.cutoff.tzinfo)),
        "deadline": t.gettext("%(time)s on %(day)s")
        % {"time": t.time(e.cutoff), "day": t.day_month(e.cutoff)},
        "start": t.gettext("%(time)s on %(day)s")
        % {"time": t.time(e.window_start), "day": t.day_month(e.window_start)},
    }


def explanation_text(t: Translator, e: Explanation) -> str:
    """The sentence that says why a video is not counted, with its own facts."""
    reason = e.reason
    if reason == "outside_window":
        if e.side == "early":
            message = t.gettext(
                "Posted at %(time)s on %(day)s %(city)s time, before the contest began (%(start)s)."
            )
        else:
            message = t.gettext(
                "Posted at %(time)s on %(day)s %(city)s time, after the deadline (%(deadline)s)."
            )
        return message % _moment(t, e)
    if reason == "no_campaign_hashtag":
        return t.gettext("The description does not carry the contest hashtag #%(hashtag)s.") % {
            "hashtag": e.hashtag
        }
    if reason == "too_short":
        return t.gettext(
            "The video is %(duration)s long; the contest asks for at least %(minimum)s."
        ) % {
            "duration": t.duration(e.duration_s or 0),
            "minimum": t.duration(e.min_duration_s),
        }
    if reason == "duration_unknown":
        return t.gettext("TikTok has not told us how long the video is; a moderator will check.")
    if reason == "outside_region":
        return t.gettext(
            "The account is registered in %(region)s; the contest is open to accounts in "
            "%(regions)s."
        ) % {
            "region": region_name(t, e.region_code or ""),
            "regions": region_list(t, e.regions),
        }
    if reason == "region_unknown":
        return t.gettext(
            "TikTok has not told us which country the account is in; a moderator will check."
        )
    if reason == "partner_account":
        return t.gettext(
            "This is a partner institution's account: its videos are showcased and do not "
            "compete for prizes."
        )
    if reason == "removed":
        return t.gettext("The video was deleted or made private, so it can no longer count.")
    if e.note:
        return t.gettext("A moderator excluded the video: “%(note)s”") % {"note": e.note}
    return t.gettext("A moderator excluded the video.")


def fix_text(t: Translator, e: Explanation) -> str:
    """What the creator can still do about it, or that nothing can be done."""
    moment = _moment(t, e)
    if not e.can_fix:
        return t.gettext("This can no longer be changed.")
    if e.fix == "add_hashtag":
        return t.gettext(
            "Add #%(hashtag)s to the description before %(deadline)s %(city)s time: the "
            "description as it stands at the deadline is the one that counts."
        ) % {**moment, "hashtag": e.hashtag}
    if e.fix == "post_again":
        return (
            t.gettext("Post a new video that meets the rules before %(deadline)s %(city)s time.")
            % moment
        )
    if e.fix == "wait_for_check":
        return t.gettext("Nothing to do for now: a person will check the video.")
    return t.gettext("If you think this is a mistake, write to the organizer.")


def status_text(t: Translator, status: str) -> str:
    """Counted, pending or not counted, in words."""
    return {
        "counted": t.gettext("Counted"),
        "pending": t.gettext("Pending"),
        "not_counted": t.gettext("Not counted"),
        "submitted": t.gettext("Submitted, not seen yet"),
    }.get(status, status)


def basis_text(t: Translator, basis: str) -> str:
    """How a video's views at the deadline were obtained."""
    return {
        "observed": t.gettext("seen at the deadline"),
        "interpolated": t.gettext("between two observations"),
        "last_before_cutoff": t.gettext("last seen before the deadline"),
        "from_creation": t.gettext("estimated from the first observation"),
    }.get(basis, basis)


def lookup_problem_text(t: Translator, problem: str) -> str:
    """Why a pasted text could not be read as a TikTok link or username."""
    return {
        "empty": t.gettext("Paste a TikTok link or a username."),
        "too_long": t.gettext("That is too long to be a TikTok link."),
        "not_tiktok": t.gettext("Only links to tiktok.com can be checked."),
        "not_understood": t.gettext(
            "We could not read that link: copy it with TikTok's Share button."
        ),
    }.get(problem, problem)


def role_text(t: Translator, role: str) -> str:
    """An account's role in words."""
    return {
        "organizer": t.gettext("organizer"),
        "moderator": t.gettext("moderator"),
        "juror": t.gettext("juror"),
    }.get(role, role)


def action_text(t: Translator, action: str) -> str:
    """A moderation action in words."""
    return {"exclude": t.gettext("excluded"), "include": t.gettext("included")}.get(action, action)
