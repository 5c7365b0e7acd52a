import pytest
from hypothesis import given
from hypothesis import strategies as st

from oyren.rules.hashtags import extract_hashtags, fold, has_campaign_hashtag, spellings

AZ_PAIRS = [
    ("ə", "e"),
    ("Ə", "e"),
    ("ö", "o"),
    ("Ö", "o"),
    ("ü", "u"),
    ("Ü", "u"),
    ("ğ", "g"),
    ("Ğ", "g"),
    ("ı", "i"),
    ("İ", "i"),
    ("ş", "s"),
    ("Ş", "s"),
    ("ç", "c"),
    ("Ç", "c"),
]
CAMPAIGN = frozenset({fold("TikTokdanÖyrən"), fold("LearnfromTikTok")})


@pytest.mark.parametrize(
    "written",
    [
        "TikTokdanÖyrən",
        "#TikTokdanOyren",
        "tiktokdanoyren",
        "TİKTOKDANÖYRƏN",
        "TIKTOKDANOYREN",
        "tiktokdanöyrən",
        "ＴｉｋＴｏｋｄａｎＯｙｒｅｎ",
        "#tiktokdano\u0308yre\u0306n",
    ],
)
def test_fold_spellings_of_the_campaign_tag_are_equal(written):
    assert fold(written) == "tiktokdanoyren"


@pytest.mark.parametrize("letter, base", AZ_PAIRS)
def test_fold_azerbaijani_letter_maps_to_latin_base(letter, base):
    assert fold(f"x{letter}y") == f"x{base}y"


def test_fold_longer_tag_is_not_the_campaign_tag():
    assert not has_campaign_hashtag(["TikTokdanÖyrən2", "TikTokdanÖyrənmək"], CAMPAIGN)


def test_fold_global_learnontiktok_alone_does_not_match():
    assert not has_campaign_hashtag(["LearnOnTikTok"], CAMPAIGN)


def test_has_campaign_hashtag_any_of_several_tags():
    assert has_campaign_hashtag(["fyp", "LEARNFROMTIKTOK"], CAMPAIGN)


@given(st.text(max_size=30))
def test_fold_is_idempotent(text):
    assert fold(fold(text)) == fold(text)


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyzəöüğışçƏÖÜĞİŞÇ", min_size=1, max_size=20))
def test_fold_ignores_case_and_azerbaijani_letters(text):
    assert fold(text.upper()) == fold(text.lower()) == fold(text)
    assert fold(text).isascii()


@given(st.text(alphabet="tikodanyrəöüğışç", min_size=1, max_size=14))
def test_spellings_all_fold_to_the_same_tag(tag):
    variants = spellings(tag)
    assert variants[0] == fold(tag)
    assert all(fold(v) == fold(tag) for v in variants)
    assert len(variants) == len(set(variants))


def test_spellings_of_campaign_tag_include_written_and_ascii_forms():
    variants = spellings("TikTokdanÖyrən")
    assert "tiktokdanoyren" in variants
    assert "tiktokdanöyrən" in variants
    assert len(variants) <= 64


def test_extract_hashtags_from_description_in_order_once_each():
    text = "Fotosintez #TikTokdanÖyrən #elm,#fyp #elm 🔬#LearnfromTikTok!"
    assert extract_hashtags(text) == ("TikTokdanÖyrən", "elm", "fyp", "LearnfromTikTok")


def test_extract_hashtags_emoji_ends_a_tag():
    assert extract_hashtags("#öyrən👑 and #a_b") == ("öyrən", "a_b")


def test_extract_hashtags_none_in_plain_text():
    assert extract_hashtags("no tags here # alone") == ()


@given(st.text(max_size=200))
def test_extract_hashtags_never_fails_and_tags_have_no_hash(text):
    assert all("#" not in tag and tag for tag in extract_hashtags(text))
