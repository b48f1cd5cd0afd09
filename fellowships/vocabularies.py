"""Each fellowship's type vocabulary: one table per fellowship.

AA's is the Meeting Guide table (`data/meeting_guide_types.json`, with its
translations); NA's comes from BMLT's world format ids; Al-Anon's follows the
codes Al-Anon areas publish in their Meeting Guide feeds, where `Y` is Alateen.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from django.utils.translation import gettext_noop

DATA_DIR = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class TypeEntry:
    code: str
    name: str
    kind: str  # format, feature, language, attendance
    meaning: str = ""  # open, closed, temporarily_closed, audience
    language: str = ""
    translations: dict = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class FellowshipEntry:
    slug: str
    name: str
    website: str
    default_open_closed: str
    types: tuple[TypeEntry, ...]


# Meeting Guide's language codes and their ISO 639-1 equivalents (S, ITA, KOR,
# POL, POR, PUN, RUS and TUR are legacy codes).
MEETING_GUIDE_LANGUAGES = {
    "AF": "af", "AM": "am", "AR": "ar", "BG": "bg", "DA": "da", "DE": "de", "EL": "el", "EN": "en",
    "FA": "fa", "FI": "fi", "FR": "fr", "HE": "he", "HI": "hi", "HR": "hr", "HU": "hu", "IS": "is",
    "ITA": "it", "JA": "ja", "KA": "ka", "KOR": "ko", "LT": "lt", "ML": "ml", "MT": "mt", "NE": "ne",
    "NL": "nl", "NO": "no", "POL": "pl", "POR": "pt", "PUN": "pa", "RUS": "ru", "S": "es", "SK": "sk",
    "SL": "sl", "SV": "sv", "TH": "th", "TL": "tl", "TUR": "tr", "UK": "uk",
}
# Who may come, and what the room offers; the rest of the table is formats.
MEETING_GUIDE_FEATURES = {
    "A", "ASL", "BA", "BI", "CF", "DB", "DD", "FF", "G", "L", "LGBTQ", "M", "N", "NB", "NDG",
    "OUT", "P", "POA", "POC", "SEN", "SM", "T", "W", "X", "XB", "XT", "Y",
}
# Who the meeting is for, among the features (MeetingType.Meaning.AUDIENCE):
# a men's and a women's meeting in one church at one hour are two meetings.
MEETING_GUIDE_AUDIENCES = {"BI", "DD", "G", "L", "LGBTQ", "M", "N", "NB", "NDG", "P", "POC", "SEN", "T", "W", "Y"}
MEANINGS = {"O": "open", "C": "closed", "TC": "temporarily_closed",
            **dict.fromkeys(MEETING_GUIDE_AUDIENCES, "audience")}


def _aa_types() -> tuple[TypeEntry, ...]:
    table = json.loads((DATA_DIR / "meeting_guide_types.json").read_text(encoding="utf-8"))
    entries = []
    for code, names in sorted(table.items()):
        if code in MEETING_GUIDE_LANGUAGES:
            kind = "language"
        elif code == "TC":
            kind = "attendance"
        elif code in MEETING_GUIDE_FEATURES:
            kind = "feature"
        else:
            kind = "format"
        entries.append(
            TypeEntry(code, names["en"], kind, MEANINGS.get(code, ""), MEETING_GUIDE_LANGUAGES.get(code, ""), names)
        )
    return tuple(entries)


def _table(rows: list[tuple], spanish: dict[str, str]) -> tuple[TypeEntry, ...]:
    return tuple(TypeEntry(*row, translations={"es": spanish[row[0]]} if row[0] in spanish else {})
                 for row in rows)


# Spanish names, as NA's Spanish-language BMLT formats and literature say them
# (Texto Básico, Solo por Hoy, Funciona: cómo y por qué); Meeting Guide's
# wording where it has the same type (Principiantes, Acceso en silla de ruedas).
NA_SPANISH = {
    "BEG": "Principiantes", "BT": "Texto Básico", "CAN": "Luz de una vela", "CH": "Cerrada en días festivos",
    "CLOSED": "Cerrada", "CPT": "12 Conceptos", "CW": "Niños bienvenidos", "DISC": "Discusión",
    "GL": "Gay/Lesbiana", "GP": "Principios Guía", "HYBR": "Virtual y presencial", "IP": "Estudio de folletos (IP)",
    "IW": "Funciona: cómo y por qué", "JFT": "Solo por Hoy", "LANG": "Idioma alternativo", "LC": "Vivir limpios",
    "LIT": "Literatura", "M": "Hombres", "MED": "Meditación", "NC": "Sin niños", "NS": "No fumar",
    "OPEN": "Abierta", "QA": "Preguntas y respuestas", "RA": "Acceso restringido", "S-D": "Orador/Discusión",
    "SMOK": "Se permite fumar", "SPAD": "Un principio espiritual al día", "SPK": "Orador", "STEP": "Pasos",
    "SWG": "Guía para trabajar los pasos", "TC": "Instalación temporalmente cerrada", "TOP": "Tema",
    "TRAD": "Tradiciones", "VAR": "Formato variable", "VM": "Virtual", "W": "Mujeres",
    "WCHR": "Silla de ruedas", "Y": "Gente joven",
    "en": "Inglés", "es": "Español", "fr": "Francés", "pt": "Portugués",
}
AL_ANON_SPANISH = {
    "O": "Abierta (se admiten observadores)", "C": "Cerrada (solo familiares y amigos)", "Y": "Alateen",
    "AC": "Hijos adultos de alcohólicos", "B": "Principiantes", "D": "Discusión", "SP": "Orador",
    "ST": "Pasos", "TR": "Tradiciones", "CO": "Conceptos de Servicio", "LIT": "Estudio de literatura",
    "CAL": "Valor para cambiar", "DF": "Un día a la vez en Al-Anon", "MED": "Meditación",
    "P": "Padres de alcohólicos", "W": "Mujeres", "M": "Hombres", "LGBTQ": "LGBTQ",
    "X": "Acceso en silla de ruedas", "CF": "Guardería disponible", "TC": "Ubicación temporalmente cerrada",
    "EN": "Inglés", "S": "Español", "KOR": "Coreano", "VI": "Vietnamita",
}


# NA: BMLT world ids (bmlt.md), plus the meeting languages BMLT's lang_enum carries.
NA_TYPES = _table([
    ("BEG", "Beginner", "format"), ("BT", "Basic Text", "format"), ("CAN", "Candlelight", "format"),
    ("CH", "Closed Holidays", "feature"), ("CLOSED", "Closed", "format", "closed"),
    ("CPT", "12 Concepts", "format"), ("CW", "Children Welcome", "feature"), ("DISC", "Discussion", "format"),
    ("GL", "Gay/Lesbian", "feature", "audience"), ("GP", "Guiding Principles", "format"),
    ("HYBR", "Virtual and In Person", "attendance"), ("IP", "IP Study", "format"),
    ("IW", "It Works", "format"), ("JFT", "Just For Today", "format"),
    ("LANG", "Alternate Language", "feature"), ("LC", "Living Clean", "format"),
    ("LIT", "Literature", "format"), ("M", "Men", "feature", "audience"), ("MED", "Meditation", "format"),
    ("NC", "No Children", "feature"), ("NS", "Non-Smoking", "feature"), ("OPEN", "Open", "format", "open"),
    ("QA", "Questions and Answers", "format"), ("RA", "Restricted Access", "feature"),
    ("S-D", "Speaker/Discussion", "format"), ("SMOK", "Smoking", "feature"),
    ("SPAD", "Spiritual Principle a Day", "format"), ("SPK", "Speaker", "format"), ("STEP", "Step", "format"),
    ("SWG", "Step Working Guide", "format"), ("TC", "Temporarily Closed Facility", "attendance", "temporarily_closed"),
    ("TOP", "Topic", "format"), ("TRAD", "Tradition", "format"), ("VAR", "Format Varies", "format"),
    ("VM", "Virtual", "attendance"), ("W", "Women", "feature", "audience"), ("WCHR", "Wheelchair", "feature"),
    ("Y", "Young People", "feature", "audience"),
    ("en", "English", "language", "", "en"), ("es", "Spanish", "language", "", "es"),
    ("fr", "French", "language", "", "fr"), ("pt", "Portuguese", "language", "", "pt"),
], NA_SPANISH)

# Al-Anon (with Alateen): meetings are for families and friends of alcoholics;
# "open" ones welcome observers.
AL_ANON_TYPES = _table([
    ("O", "Open (observers welcome)", "format", "open"), ("C", "Closed (families and friends only)", "format", "closed"),
    ("Y", "Alateen", "feature", "audience"),
    ("AC", "Adult Children of Alcoholics", "feature", "audience"),
    ("B", "Beginners", "format"), ("D", "Discussion", "format"), ("SP", "Speaker", "format"),
    ("ST", "Steps", "format"), ("TR", "Traditions", "format"), ("CO", "Concepts of Service", "format"),
    ("LIT", "Literature Study", "format"), ("CAL", "Courage to Change", "format"),
    ("DF", "One Day at a Time in Al-Anon", "format"), ("MED", "Meditation", "format"),
    ("P", "Parents of Alcoholics", "feature", "audience"), ("W", "Women", "feature", "audience"),
    ("M", "Men", "feature", "audience"), ("LGBTQ", "LGBTQ", "feature", "audience"),
    ("X", "Wheelchair Access", "feature"), ("CF", "Child Care Available", "feature"),
    ("TC", "Location Temporarily Closed", "attendance", "temporarily_closed"),
    ("EN", "English", "language", "", "en"), ("S", "Spanish", "language", "", "es"),
    ("KOR", "Korean", "language", "", "ko"), ("VI", "Vietnamese", "language", "", "vi"),
], AL_ANON_SPANISH)


@lru_cache(maxsize=1)
def fellowship_entries() -> tuple[FellowshipEntry, ...]:
    return (
        # The names are in the pages' catalogues (meetings.display.fellowship_name).
        FellowshipEntry("aa", gettext_noop("Alcoholics Anonymous"), "https://www.aa.org", "", _aa_types()),
        FellowshipEntry("na", gettext_noop("Narcotics Anonymous"), "https://na.org", "", NA_TYPES),
        FellowshipEntry("al-anon", gettext_noop("Al-Anon Family Groups"), "https://al-anon.org", "closed",
                        AL_ANON_TYPES),
    )


# Each fellowship's bridge to Meeting Guide codes, one table per fellowship,
# read both ways: by the importer (a BMLT feed's world ids into a Meeting Guide
# vocabulary) and by the exporter (NA's and Al-Anon's meetings in a Meeting
# Guide feed). A code with no equivalent is left out rather than reusing a spec
# letter for another meaning: Al-Anon's `Y` (Alateen) is not Meeting Guide's
# `Y` (Young People), and its `B` (Beginners) is `BE`, not Big Book.
# NA's codes are BMLT world ids (bmlt.md, "a rough bridge"), plus the meeting
# languages of NA's vocabulary.
WORLD_ID_TO_MEETING_GUIDE = {
    "CLOSED": ("C",), "OPEN": ("O",), "BEG": ("BE",), "DISC": ("D",), "SPK": ("SP",), "STEP": ("ST",),
    "TRAD": ("TR",), "W": ("W",), "M": ("M",), "Y": ("Y",), "WCHR": ("X",), "TC": ("TC",),
    "GL": ("G", "L"), "SMOK": ("SM",), "MED": ("MED",), "LIT": ("LIT",), "CAN": ("CAN",),
    "en": ("EN",), "es": ("S",), "fr": ("FR",), "pt": ("POR",),
}
AL_ANON_TO_MEETING_GUIDE = {
    "O": ("O",), "C": ("C",), "B": ("BE",), "D": ("D",), "SP": ("SP",), "ST": ("ST",), "TR": ("TR",),
    "LIT": ("LIT",), "MED": ("MED",), "W": ("W",), "M": ("M",), "LGBTQ": ("LGBTQ",), "X": ("X",),
    "TC": ("TC",), "EN": ("EN",), "S": ("S",), "KOR": ("KOR",),
}


@lru_cache(maxsize=1)
def meeting_guide_codes() -> frozenset[str]:
    return frozenset(json.loads((DATA_DIR / "meeting_guide_types.json").read_text(encoding="utf-8")))


def meeting_guide_equivalents(*, fellowship: str, code: str) -> tuple[str, ...]:
    """The Meeting Guide codes that say what `code` says in `fellowship`'s
    vocabulary; empty when Meeting Guide has no such code. AA's vocabulary is
    Meeting Guide's own."""
    if fellowship == "na":
        found = WORLD_ID_TO_MEETING_GUIDE.get(code, ())
    elif fellowship == "al-anon":
        found = AL_ANON_TO_MEETING_GUIDE.get(code, ())
    else:
        found = (code,)
    return tuple(c for c in found if c in meeting_guide_codes())


@lru_cache(maxsize=1)
def _world_id_of_meeting_guide_code() -> dict[str, str]:
    """WORLD_ID_TO_MEETING_GUIDE read backwards (G and L are both GL); languages
    are BMLT's LANG and are left out."""
    reverse: dict[str, str] = {}
    for world_id, codes in WORLD_ID_TO_MEETING_GUIDE.items():
        if world_id.isupper():
            for code in codes:
                reverse.setdefault(code, world_id)
    return reverse


def bmlt_world_id(*, fellowship: str, code: str, kind: str) -> str:
    """The BMLT world id that says what `code` says in `fellowship`'s
    vocabulary, through the same bridge; "" when none does. Every language is
    BMLT's LANG (the format's key then names it)."""
    if kind == "language":
        return "LANG"
    if fellowship == "na":
        return code  # NA's vocabulary is BMLT's world ids
    reverse = _world_id_of_meeting_guide_code()
    for mg_code in meeting_guide_equivalents(fellowship=fellowship, code=code):
        if mg_code in reverse:
            return reverse[mg_code]
    return ""
