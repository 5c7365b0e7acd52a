"""Tests for oyren.screening.themes: az/en/ru cases, folding, hashtags, campaign words, hostile
input."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections import Counter
from pathlib import Path

import pytest

from oyren.rules.campaign import Text, Theme
from oyren.rules.observations import Observation
from oyren.screening.themes import (
    LOW_CONFIDENCE,
    NOT_EDUCATIONAL,
    Classifier,
    ThemeGuess,
    ThemeShare,
    load_lexicon,
    needs_review,
    parse_lexicon,
    split_hashtag,
    theme_mix,
    words,
)

STANDARD = ("lifehacks", "style_beauty", "cooking", "fitness", "science", "school", "culture")


def make_theme(theme_id: str, az: str = "", en: str = "", keywords: tuple[str, ...] = ()) -> Theme:
    return Theme(id=theme_id, name=Text(az=az or theme_id, en=en or theme_id), keywords=keywords)


@pytest.fixture
def themes() -> tuple[Theme, ...]:
    names = {
        "lifehacks": ("Məişət lifehakları", "Household lifehacks"),
        "style_beauty": ("Stil və gözəllik", "Style and beauty"),
        "cooking": ("Kulinariya reseptləri", "Culinary recipes"),
        "fitness": ("Fitnes", "Fitness"),
        "science": ("Elm", "Science"),
        "school": ("Məktəb fənləri", "School subjects"),
        "culture": ("Mədəniyyət", "Culture"),
    }
    return tuple(make_theme(i, az, en) for i, (az, en) in names.items())


@pytest.fixture
def classifier(themes: tuple[Theme, ...]) -> Classifier:
    return Classifier(themes, ignore=("TikTokdanÖyrən", "LearnfromTikTok"))


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        ("Evdə dadlı toyuq şorbası resepti 🍲 #resept", "cooking"),
        ("Paltardan yağ ləkəsini 2 dəqiqəyə təmizləyin #lifehack", "lifehacks"),
        ("Gündəlik makiyaj və dəri baxımı 💄", "style_beauty"),
        ("Evdə 10 dəqiqəlik məşq, arıqlamaq üçün #idman", "fitness"),
        ("Kainat nə qədər böyükdür? Planetlər və ulduzlar #elm", "science"),
        ("Riyaziyyat: kəsrləri necə toplamaq olar? #dərs", "school"),
        ("Milli Xalça Muzeyində ekskursiya #mədəniyyət", "culture"),
    ],
)
def test_classify_azerbaijani_clear_cases(classifier: Classifier, description: str, expected: str):
    assert classifier.classify(description=description).topic == expected


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        ("3 cleaning hacks for a stained sink", "lifehacks"),
        ("My skincare routine for oily skin", "style_beauty"),
        ("Easy banana bread recipe, no mixer needed", "cooking"),
        ("15 min full body workout, no equipment", "fitness"),
        ("Why is the sky blue? Physics explained", "science"),
        ("Algebra lesson: solving a quadratic equation", "school"),
        ("A walk through the National Art Museum", "culture"),
    ],
)
def test_classify_english_clear_cases(classifier: Classifier, description: str, expected: str):
    assert classifier.classify(description=description).topic == expected


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        ("Как убрать пятно от кофе с ковра за минуту #лайфхак", "lifehacks"),
        ("Вечерний макияж за 5 минут", "style_beauty"),
        ("Рецепт вкусного плова в казане", "cooking"),
        ("Упражнения для пресса дома", "fitness"),
        ("Почему у Юпитера столько спутников? #наука #космос", "science"),
        ("Урок математики: дроби за 60 секунд", "school"),
        ("Как создаётся спектакль в Русском драматическом театре", "culture"),
    ],
)
def test_classify_russian_clear_cases(classifier: Classifier, description: str, expected: str):
    assert classifier.classify(description=description).topic == expected


def test_classify_folds_azerbaijani_letters(classifier: Classifier):
    written = classifier.classify(description="Ən dadlı şəkərbura reseptləri")
    plain = classifier.classify(description="En dadli sekerbura reseptleri")
    shouted = classifier.classify(description="ƏN DADLI ŞƏKƏRBURA RESEPTLƏRİ")
    assert (plain.topic, plain.confidence) == (written.topic, written.confidence)
    assert (shouted.topic, shouted.confidence) == (written.topic, written.confidence)
    assert written.topic == "cooking"


def test_words_fold_o_umlaut_and_schwa():
    assert words("Öyrən Öyrənək öyrənirik") == ["oyren", "oyrenek", "oyrenirik"]
    assert words("Ə ə e") == ["e", "e", "e"]


def test_words_fold_russian_yo():
    assert words("Актёр ЁЛКА") == ["актер", "елка"]


def test_classify_matches_azerbaijani_suffixes(classifier: Classifier):
    guess = classifier.classify(description="Məktəbimizdə müəllimlərimizlə birlikdə")
    assert guess.topic == "school"
    assert {e.pattern for e in guess.evidence} == {"məktəb*", "müəllim*"}


def test_classify_matches_russian_endings(classifier: Classifier):
    guess = classifier.classify(description="тренировками и упражнениями")
    assert guess.topic == "fitness"


def test_split_hashtag_camel_case():
    assert split_hashtag("LifeHackDIY") == ("life", "hack", "diy")
    assert split_hashtag("ЗдоровоеПитание") == ("здоровое", "питание")
    assert split_hashtag("5tips_for_you") == ("5", "tips", "for", "you")
    assert split_hashtag("TİKTOKDANÖYRƏN") == ("tiktokdanoyren",)


def test_classify_finds_words_run_together_in_hashtags(classifier: Classifier):
    guess = classifier.classify(description="", hashtags=("cookingtiktok", "kimyadersi"))
    assert {(e.label, e.matched) for e in guess.evidence} == {
        ("cooking", "cookingtiktok"),
        ("science", "kimyadersi"),
        ("school", "ders"),
    }


def test_classify_does_not_find_whole_words_inside_names(classifier: Classifier):
    assert classifier.classify(hashtags=("elmira", "elmar")).evidence == ()


def test_classify_reads_hashtags_from_description(classifier: Classifier):
    guess = classifier.classify(description="bu gün #DərsVaxtı 📚")
    assert guess.topic == "school"


def test_classify_campaign_hashtags_are_no_evidence(classifier: Classifier):
    guess = classifier.classify(description="#TikTokdanÖyrən #tiktokdanoyren #LearnOnTikTok #fyp")
    assert guess.evidence == ()
    assert guess.topic is None


def test_classify_campaign_keywords_extend_theme(themes: tuple[Theme, ...]):
    extended = (*themes[:-1], make_theme("culture", "Mədəniyyət", "Culture", ("xəttatlıq",)))
    plain = Classifier(themes).classify(description="Xəttatlığın sirləri ✍️")
    guess = Classifier(extended).classify(description="Xəttatlığın sirləri ✍️")
    assert plain.topic is None
    assert (guess.topic, guess.confidence) == ("culture", 0.5)


def test_classify_keywords_match_suffixed_forms(themes: tuple[Theme, ...]):
    chess = make_theme("chess", "Şahmat", "Chess", ("debüt", "endşpil"))
    guess = Classifier((*themes, chess)).classify(description="Endşpildə piyadanın gücü")
    assert guess.topic == "chess"


def test_classify_theme_outside_lexicon_uses_its_names():
    chess = make_theme("chess", "Şahmat", "Chess")
    guess = Classifier((chess,)).classify(description="Şahmatda ən qısa mat: 4 gediş")
    assert (guess.topic, guess.confidence) == ("chess", 0.5)


def test_classify_ignores_lexicon_themes_the_campaign_lacks():
    guess = Classifier((make_theme("cooking"),)).classify(description="fizika dərsi")
    assert guess.topic is None


@pytest.mark.parametrize(
    "description",
    [
        "Prank on my brother 😂😂 #prank",
        "Follow for follow ❤️ like for like #f4f",
        "iPhone giveaway! Repost & follow to win #giveaway",
        "Пранк над мамой 🤣 #пранк",
        "Prikol video 😂 #prikol #zarafat",
    ],
)
def test_classify_not_educational(classifier: Classifier, description: str):
    guess = classifier.classify(description=description)
    assert (guess.educational, guess.topic, guess.label) == (False, None, NOT_EDUCATIONAL)
    assert needs_review(guess) is True


def test_classify_theme_outweighs_a_weak_entertainment_cue(classifier: Classifier):
    guess = classifier.classify(description="Dance workout for beginners: cardio and abs")
    assert (guess.educational, guess.topic) == (True, "fitness")


def test_classify_empty_text_has_zero_confidence(classifier: Classifier):
    guess = classifier.classify(description="", hashtags=(), voice_to_text=None)
    assert (guess.topic, guess.confidence, guess.educational, guess.evidence) == (
        None, 0.0, False, ())  # fmt: skip
    assert needs_review(guess) is True


def test_classify_one_strong_word_reaches_the_threshold(classifier: Classifier):
    guess = classifier.classify(description="#resept")
    assert (guess.topic, guess.confidence, needs_review(guess)) == ("cooking", 0.5, False)


def test_classify_lone_weak_word_needs_review(classifier: Classifier):
    guess = classifier.classify(description="bugünkü kitab")
    assert guess.topic == "culture"
    assert guess.confidence < LOW_CONFIDENCE
    assert needs_review(guess) is True


def test_classify_two_themes_split_confidence(classifier: Classifier):
    guess = classifier.classify(description="recipe and workout")
    assert guess.confidence == pytest.approx(1 / 3)
    assert needs_review(guess) is True


def test_classify_repeated_word_counts_once(classifier: Classifier):
    once = classifier.classify(description="#recipe")
    many = classifier.classify(description="#recipe " * 50, hashtags=["recipe"] * 50)
    assert many.score("cooking") == once.score("cooking") == 1.0


def test_classify_uses_voice_to_text(classifier: Classifier):
    guess = classifier.classify(description="🤔", voice_to_text="bu gün sizə fotosintezi biologiya "
                                "dərsindən yox, elmi təcrübə ilə izah edəcəm")  # fmt: skip
    assert guess.topic == "science"
    assert {e.field for e in guess.evidence} == {"voice_to_text"}


def test_classify_observation_reads_all_fields(classifier: Classifier):
    obs = Observation(video_id="1", username="u", create_time=1_708_500_000,
                      collected_at=1_708_500_100, view_count=5, description="Bu gün:",
                      hashtags=("resept",), voice_to_text="plov bişiririk")  # fmt: skip
    guess = classifier.classify_observation(obs)
    assert guess.topic == "cooking"
    assert {e.field for e in guess.evidence} == {"hashtags", "voice_to_text"}


@pytest.mark.parametrize(
    "text",
    [
        "\x00" * 10_000,
        "resept\x00plov\x00",
        "a" * 1_000_000,
        "resept " * 200_000,
        "🙂🍲💪🏽👩‍🔬" * 5_000,
        "#" * 50_000,
        "#" + "x" * 100_000,
        "Рецепт resept 食谱 وصفة रेसिपी",
        "i̇̇̇̇ ö̈̈ ə\u0301\u0301",
        "\ud800 lone surrogate",
        "İIıi ß ﬁ ＃ｒｅｓｅｐｔ",
        "\u202e tpeser \u200b\u200d",
    ],
)
def test_classify_hostile_input_does_not_crash(classifier: Classifier, text: str):
    guess = classifier.classify(description=text, hashtags=(text, "", "#"), voice_to_text=text)
    assert isinstance(guess, ThemeGuess)
    assert 0.0 <= guess.confidence <= 1.0


def test_classify_is_deterministic(themes: tuple[Theme, ...]):
    text = "Dolma resepti və fizika dərsi, dance 💃 #LifeHack #kimyadersi"
    first = Classifier(themes).classify(description=text, voice_to_text="workout")
    second = Classifier(themes).classify(description=text, voice_to_text="workout")
    assert first == second


def test_classify_tie_goes_to_the_earlier_campaign_theme(classifier: Classifier):
    assert classifier.classify(description="resept məşq").topic == "cooking"


def test_classifier_rejects_reserved_theme_id():
    with pytest.raises(ValueError, match="cannot be theme ids"):
        Classifier((make_theme(NOT_EDUCATIONAL),))


def test_classifier_rejects_duplicate_theme_ids():
    with pytest.raises(ValueError, match="share an id"):
        Classifier((make_theme("cooking"), make_theme("cooking")))


def test_needs_review_by_threshold():
    guess = ThemeGuess(topic="cooking", confidence=0.6, educational=True, scores=(), evidence=())
    assert needs_review(guess) is False
    assert needs_review(guess, threshold=0.7) is True


def test_load_lexicon_covers_standard_themes_in_three_languages():
    lexicon = load_lexicon()
    assert set(STANDARD) | {NOT_EDUCATIONAL, "teaching"} == lexicon.labels
    raw_patterns = {(c.label, c.pattern) for c in lexicon.cues}
    assert ("cooking", "resept*") in raw_patterns
    assert ("cooking", "recipe*") in raw_patterns
    assert ("cooking", "рецепт*") in raw_patterns


def test_parse_lexicon_rejects_short_prefix_stem():
    data = {"format": 1, "labels": {"cooking": {"strong": {"az": ["aş*"]}}}}
    with pytest.raises(ValueError, match="prefix stem"):
        parse_lexicon(data)


def test_parse_lexicon_rejects_unknown_tier():
    with pytest.raises(ValueError, match="only 'strong' and 'weak'"):
        parse_lexicon({"format": 1, "labels": {"cooking": {"medium": {}}}})


def test_theme_mix_counts_in_campaign_order(themes: tuple[Theme, ...]):
    mix = theme_mix(["cooking", "cooking", None, "school", "unknown"], themes[:3])
    assert mix == (
        ThemeShare("lifehacks", 0, 0.0),
        ThemeShare("style_beauty", 0, 0.0),
        ThemeShare("cooking", 2, 0.4),
        ThemeShare(None, 3, 0.6),
    )


def test_theme_mix_of_nothing_is_all_zero(themes: tuple[Theme, ...]):
    assert theme_mix([], themes[:1]) == (ThemeShare("lifehacks", 0, 0.0), ThemeShare(None, 0, 0.0))


LABELLED = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "themes_labelled.jsonl"


@pytest.fixture
def labelled() -> list[dict[str, str]]:
    lines = LABELLED.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_labelled_set_is_large_enough_in_each_language(labelled: list[dict[str, str]]):
    by_language = Counter(item["lang"] for item in labelled)
    assert len(labelled) >= 300
    assert set(by_language) == {"az", "en", "ru"}
    assert min(by_language.values()) >= 100


def test_labelled_set_covers_every_label_in_every_language_and_split(
    labelled: list[dict[str, str]],
):
    cells = Counter((i["split"], i["lang"], i["label"]) for i in labelled)
    for split in ("dev", "test"):
        for lang in ("az", "en", "ru"):
            for label in (*STANDARD, NOT_EDUCATIONAL):
                assert cells[(split, lang, label)] >= 5, (split, lang, label)


def test_labelled_set_ids_are_unique_and_fields_known(labelled: list[dict[str, str]]):
    assert len({i["id"] for i in labelled}) == len(labelled)
    allowed = {"id", "split", "lang", "label", "text", "voice_to_text"}
    assert [i["id"] for i in labelled if not set(i) <= allowed or not i["text"].strip()] == []


def test_theme_report_has_a_section_per_split():
    spec = importlib.util.spec_from_file_location(
        "themes_benchmark", LABELLED.parents[1] / "themes.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        report = module.theme_report()
    finally:
        del sys.modules[spec.name]
    assert list(report["splits"]) == ["test", "dev", "all"]
    assert report["splits"]["all"]["items"] == len(LABELLED.read_text("utf-8").splitlines())
    assert set(report["splits"]["test"]["baselines"]) == {"majority", "keyword_exact"}


def test_classify_ignores_short_words_inside_hashtags(classifier: Classifier):
    assert classifier.classify(hashtags=("sunset", "dubai", "artsy")).evidence == ()


# Texts that exercise every path: multi-word patterns, hashtags split at case changes and run
# together, ignored tags, repeated and truncated text, transcripts, nothing at all.
_MANY = [
    ("Evdə dadlı toyuq şorbası resepti 🍲 #resept", ("LifeHack", "kimyadersi"), None),
    ("how to make plov, step by step #TikTokdanÖyrən", ("cookingtiktok",), "bu gün öyrənək"),
    ("Dance challenge with my friends 💃 #fyp", (), None),
    ("Kainat nə qədər böyükdür? #elm #Elm #ELM", ("elm", "elmira"), "объясняю как устроена"),
    ("", (), ""),
    ("", ("LearnfromTikTok", "learnfromtiktok"), None),
    ("Riyaziyyat: kəsrləri necə toplamaq olar? " * 3000, ("dərs",) * 300, "formula " * 5000),
    ("Gündəlik makiyaj və dəri baxımı 💄 #StyleTips", ("makeUpTutorial2024",), "giveaway follow"),
    # One list of hashtags beside different descriptions: once written inline too, once not.
    ("Kimya təcrübəsi #elm #fizika", ("elm", "kimyadersi"), None),
    ("Kimya təcrübəsi", ("elm", "kimyadersi"), "təcrübə"),
]


def test_topics_are_classify_observation_for_each_video(classifier: Classifier):
    observations = [
        Observation(str(n), "a", 0, 0, 0, description=d, hashtags=h, voice_to_text=v)
        for n, (d, h, v) in enumerate(_MANY * 2)
    ]
    expected = [
        (guess.topic, guess.confidence)
        for guess in map(classifier.classify_observation, observations)
    ]
    assert classifier.topics(observations) == expected
    assert len({topic for topic, _ in expected}) >= 4
    assert classifier.topics([]) == []


REMEMBERED = [
    ("Sadə resept: plov #yemək #kimyadersi", ("LifeHack", "öyrən"), None),
    ("Мой рецепт борща, объясняю", (), "how to cook a quick soup"),
    ("funny prank challenge #fyp", ("fyp",), None),
    ("English grammar: present perfect", ("təhsil",), "grammar lesson for school"),
    ("Sadə resept: plov #yemək #kimyadersi", ("LifeHack", "öyrən"), None),  # again, the same
    ("elmira dance #elmira", (), None),
]


@pytest.mark.parametrize("memory", [1, 2, 50_000])
def test_classify_remembering_gives_the_same_guesses(
    themes: tuple[Theme, ...], memory: int, monkeypatch: pytest.MonkeyPatch
):
    # A classifier remembers words, tags and texts it has seen (and forgets all when full): its
    # guesses, evidence included, are those of a classifier seeing each text for the first time.
    monkeypatch.setattr("oyren.screening.themes.MEMORY", memory)
    seasoned = Classifier(themes)
    for _ in range(2):
        for description, tags, voice in REMEMBERED:
            fresh = Classifier(themes).classify(
                description=description, hashtags=tags, voice_to_text=voice
            )
            again = seasoned.classify(description=description, hashtags=tags, voice_to_text=voice)
            assert again == fresh
    assert seasoned.classify(description="resept", hashtags=iter(["yemək"])) == Classifier(
        themes
    ).classify(description="resept", hashtags=["yemək"])
