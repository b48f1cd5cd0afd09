"""The bridges between vocabularies: one table per fellowship, read by the
importer and the exporter alike."""

from fellowships import vocabularies
from fellowships.vocabularies import WORLD_ID_TO_MEETING_GUIDE, meeting_guide_codes, meeting_guide_equivalents


def test_the_importer_and_the_exporter_read_one_bmlt_bridge():
    from meetings.feeds import importer

    assert importer.WORLD_ID_TO_MEETING_GUIDE is vocabularies.WORLD_ID_TO_MEETING_GUIDE
    for world_id, codes in WORLD_ID_TO_MEETING_GUIDE.items():
        assert meeting_guide_equivalents(fellowship="na", code=world_id) == codes


def test_every_bridged_code_is_a_spec_code():
    for table in (WORLD_ID_TO_MEETING_GUIDE, vocabularies.AL_ANON_TO_MEETING_GUIDE):
        assert {c for codes in table.values() for c in codes} <= meeting_guide_codes()


def test_alateen_has_no_spec_twin():
    assert meeting_guide_equivalents(fellowship="al-anon", code="Y") == ()
    assert meeting_guide_equivalents(fellowship="na", code="Y") == ("Y",)


def test_the_types_that_say_who_a_meeting_is_for():
    """Each vocabulary says which of its codes name who a meeting is for
    (`MeetingType.Meaning.AUDIENCE`), read when telling two listings apart
    (meetings/feeds/duplicates.py); what the room offers (wheelchair access,
    babysitting) says nothing of who may come."""
    audience = {entry.slug: {t.code for t in entry.types if t.meaning == "audience"}
                for entry in vocabularies.fellowship_entries()}
    assert audience == {
        "aa": {"BI", "DD", "G", "L", "LGBTQ", "M", "N", "NB", "NDG", "P", "POC", "SEN", "T", "W", "Y"},
        "na": {"GL", "M", "W", "Y"},
        "al-anon": {"AC", "LGBTQ", "M", "P", "W", "Y"},
    }


def test_marking_who_a_type_is_for_derives_nothing_so_no_meeting_is_followed():
    """A type's meaning is kept among what meetings derive from their types
    (keywords.type_text_sources) only where it derives something: open,
    closed, temporarily closed. An audience mark derives nothing, so marking
    25 types (fellowships migration 0006) must not make every meeting with
    one of them be read again (48 s at a million meetings, changing none)."""
    from meetings.keywords import type_text_sources

    def sources(meaning: str) -> dict:
        return type_text_sources([(7, "Women", {"es": "Mujeres"}, "feature", "", meaning)])

    assert sources("audience") == sources("")
    assert sources("closed") != sources("")
