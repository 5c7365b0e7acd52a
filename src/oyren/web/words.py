"""Words: the core's codes and facts put into sentences in the reader's language.

The core decides and explains with codes (:mod:`oyren.rules.eligibility`,
:mod:`oyren.rules.explain`); only
here do they become text, through the gettext catalogs, with dates and numbers in the reader's
locale. Returned strings are plain text: templates escape them like anything else, which matters
for the moderator's note and anything else quoted from a person.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from babel.dates import format_timedelta

from oyren.rules.campaign import Campaign
from oyren.rules.explain import Explanation
from oyren.rules.results import Flag
from oyren.web.i18n import Translator

__all__ = [
    "action_text",
    "basis_text",
    "explanation_text",
    "fix_text",
    "flag_text",
    "flag_title",
    "lookup_problem_text",
    "reason_title",
    "region_list",
    "region_name",
    "review_text",
    "role_text",
    "span_text",
    "status_text",
    "theme_name",
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


# --- Integrity flags and the moderation queue: the screening's evidence, said for the reader -----


def flag_title(t: Translator, code: str) -> str:
    """A short label for an integrity flag's code."""
    return {
        "view_spike": t.gettext("Sudden jump in views"),
        "views_decreased": t.gettext("View count went down"),
        "engagement_outlier": t.gettext("Unusual likes, comments or shares"),
        "duplicate_upload": t.gettext("Re-upload of another video"),
        "coordinated_accounts": t.gettext("Accounts growing in lockstep"),
    }.get(code, code)


def span_text(t: Translator, seconds: int) -> str:
    """A length of time in the reader's words, rounded to one unit: 2 hours, 3 days."""
    return str(
        format_timedelta(
            dt.timedelta(seconds=max(60, seconds)), threshold=1.5, locale=t.locale, format="long"
        )
    )


def _at(t: Translator, campaign: Campaign, ts: int) -> str:
    return t.datetime(campaign.local(ts))


def flag_text(t: Translator, flag: Flag, campaign: Campaign) -> str:
    """The flag's evidence in sentences, numbers in the reader's format (English text when the
    flag carries no evidence as data, as in results written before it did)."""
    f = flag.facts()
    n = t.number
    if not f:
        return flag.explanation
    if flag.code == "view_spike":
        text = t.gettext(
            "Gained %(gained)s views in %(span)s at the age of %(age)s (from %(from)s to %(to)s, "
            "%(at)s)."
        ) % {
            "gained": n(f["gained"]),
            "span": span_text(t, f["span_s"]),
            "age": span_text(t, f["age_s"]),
            "from": n(f["from"]),
            "to": n(f["to"]),
            "at": _at(t, campaign, f["at"]),
        }
        if f["usual_percent"] is not None:
            usual = t.gettext(
                "Videos of that age and size in this campaign gain at most %(percent)s %% of "
                "their views per hour (99th percentile), about %(typical)s in that time."
            ) % {"percent": n(f["usual_percent"]), "typical": n(f["typical"])}
        else:
            usual = t.gettext(
                "Videos of that age and size in this campaign gain under %(percent)s %% of "
                "their views per hour, about %(typical)s in that time."
            ) % {"percent": n(f["floor_percent"]), "typical": n(f["typical"])}
        after = (
            t.gettext("Growth fell back afterwards, as after a delivered block of bought views.")
            if f["fell_back"]
            else t.gettext("No later snapshot shows whether growth fell back.")
        )
        more = ""
        if f["more"]:
            more = t.ngettext(
                "%(num)s more interval like this.", "%(num)s more intervals like this.", f["more"]
            ) % {"num": n(f["more"])}
        return " ".join(part for part in (text, usual, after, more) if part)
    if flag.code == "views_decreased":
        return t.gettext(
            "The view count went down from %(peak)s (%(peak_at)s) to %(low)s (%(low_at)s): "
            "%(drop)s fewer, %(share)s %% of the peak. Platforms take back views they judge "
            "fake, so the count may have been inflated."
        ) % {
            "peak": n(f["peak"]),
            "peak_at": _at(t, campaign, f["peak_at"]),
            "low": n(f["low"]),
            "low_at": _at(t, campaign, f["low_at"]),
            "drop": n(f["drop"]),
            "share": n(f["share_percent"]),
        }
    if flag.code == "engagement_outlier":
        metric_names = {
            "likes": t.gettext("likes"),
            "comments": t.gettext("comments"),
            "shares": t.gettext("shares"),
        }
        parts = []
        for metric, rate, times, side, median, low, high in f["metrics"]:
            values = {
                "rate": n(rate),
                "metric": metric_names.get(metric, metric),
                "times": n(times),
                "median": n(median),
                "low": n(low),
                "high": n(high),
            }
            if side == "above":
                message = t.gettext(
                    "%(rate)s %(metric)s per 1,000 views, %(times)s times the campaign median of "
                    "%(median)s (most videos: %(low)s–%(high)s)"
                )
            else:
                message = t.gettext(
                    "%(rate)s %(metric)s per 1,000 views, %(times)s times below the campaign "
                    "median of %(median)s (most videos: %(low)s–%(high)s)"
                )
            parts.append(message % values)
        return (
            t.gettext("At %(views)s views: %(parts)s.")
            % {"views": n(f["views"]), "parts": "; ".join(parts)}
            + " "
            + t.gettext("Bought views come without likes, bought likes without an audience.")
        )
    if flag.code == "duplicate_upload":
        what_names = {
            "sound": t.gettext("the same sound"),
            "description": t.gettext("the same description"),
            "speech": t.gettext("the same speech"),
        }
        nearly = {
            "description": t.gettext("nearly the same description (%(share)s %% of words shared)"),
            "speech": t.gettext("nearly the same speech (%(share)s %% of words shared)"),
        }
        matched = []
        for what, share, common in f["matched"]:
            words = (
                what_names.get(what, what)
                if share >= 100 or what not in nearly
                else nearly[what] % {"share": n(share)}
            )
            if common:
                words += " " + t.gettext("(common: %(num)s videos)") % {"num": n(common)}
            matched.append(words)
        values = {
            "length": t.duration(f["duration_s"]),
            "matched": ", ".join(matched),
            "video": f["original"],
            "gap": span_text(t, f["gap_s"]),
        }
        if f["original_username"]:
            return t.gettext(
                "Same length (%(length)s) and %(matched)s as video %(video)s by @%(user)s, "
                "posted %(gap)s earlier: a re-upload of the same content."
            ) % {**values, "user": f["original_username"]}
        return (
            t.gettext(
                "Same length (%(length)s) and %(matched)s as video %(video)s by the same account, "
                "posted %(gap)s earlier: a re-upload of the same content."
            )
            % values
        )
    if flag.code == "coordinated_accounts":
        return t.ngettext(
            "Views burst at the same moments as videos of %(accounts)s (%(group)s accounts in "
            "this group) on %(num)s occasion: %(moments)s. By chance about %(expected)s shared "
            "bursts would be expected; different creators growing in lockstep suggests "
            "coordinated boosting.",
            "Views burst at the same moments as videos of %(accounts)s (%(group)s accounts in "
            "this group) on %(num)s occasions: %(moments)s. By chance about %(expected)s shared "
            "bursts would be expected; different creators growing in lockstep suggests "
            "coordinated boosting.",
            f["occasions"],
        ) % {
            "accounts": ", ".join("@" + a for a in f["accounts"]),
            "group": n(f["group"]),
            "num": n(f["occasions"]),
            "moments": ", ".join(_at(t, campaign, m) for m in f["moments"]),
            "expected": n(f["expected"]),
        }
    return flag.explanation


def theme_name(t: Translator, campaign: Campaign, theme_id: str) -> str:
    """A theme's name in the reader's language (its id when the campaign has no such theme)."""
    for theme in campaign.themes:
        if theme.id == theme_id:
            return theme.name.get(t.lang)
    return theme_id


def review_text(
    t: Translator, why: str, facts: tuple[tuple[str, Any], ...], campaign: Campaign
) -> str:
    """Why a video waits for a person and what a decision would change, in sentences."""
    f = dict(facts)
    n = t.number
    if not f:
        return ""
    if why == "soft_reasons" or why == "pending_check":
        return t.gettext("An inclusion would let it count: %(reasons)s.") % {
            "reasons": ", ".join(reason_title(t, r).lower() for r in f.get("reasons", ()))
        }
    if why == "topic":
        if not f.get("topic"):
            return t.gettext(
                "It may not be educational (the classifier is %(confidence)s sure): check its "
                "theme."
            ) % {"confidence": t.percent(f.get("confidence", 0.0))}
        return t.gettext(
            "Its theme “%(theme)s” is uncertain (the classifier is %(confidence)s sure): check it."
        ) % {
            "theme": theme_name(t, campaign, f["topic"]),
            "confidence": t.percent(f.get("confidence", 0.0)),
        }
    impact = f.get("impact")
    if impact == "not_eligible":
        return t.gettext("Not counted anyway (%(reasons)s): excluding it changes nothing.") % {
            "reasons": ", ".join(reason_title(t, r).lower() for r in f.get("reasons", ()))
        }
    if impact == "eligible":
        return t.gettext("Place %(rank)s of %(of)s: excluding it changes no prize.") % {
            "rank": n(f["rank"]),
            "of": n(f["of"]),
        }
    sentences = []
    for change in f.get("changes", ()):
        if change[0] == "most_creative":
            sentences.append(
                t.gettext("the most creative prize would pass to the jury's next choice")
            )
        elif change[0] == "best_video" and change[1]:
            sentences.append(
                t.gettext("the best video prize would go to video %(video)s by @%(user)s")
                % {"video": change[1], "user": change[2]}
            )
        elif change[0] == "best_video":
            sentences.append(t.gettext("nobody would win the best video prize"))
        elif change[0] == "discover" and change[1]:
            sentences.append(
                t.gettext("the discover prize would go to @%(user)s") % {"user": change[1]}
            )
        elif change[0] == "discover":
            sentences.append(t.gettext("nobody would win the discover prize"))
    for move in f.get("moves", ()):
        if move[0] == "best_top":
            sentences.append(
                t.gettext(
                    "it is place %(rank)s of the best video ranking, so the top %(top)s would "
                    "change"
                )
                % {"rank": n(move[1]), "top": n(move[2])}
            )
        elif move[0] == "creator_out":
            _, user, rank, top, left, outside = move
            sentences.append(
                t.gettext(
                    "@%(user)s would fall from place %(rank)s out of the top %(top)s creators "
                    "(%(left)s views, against %(outside)s for place %(next)s)"
                )
                % {
                    "user": user,
                    "rank": n(rank),
                    "top": n(top),
                    "left": n(left),
                    "outside": n(outside),
                    "next": n(top + 1),
                }
            )
    if not sentences:
        return ""
    return t.gettext("Excluding it: %(changes)s.") % {"changes": "; ".join(sentences)}
