"""Words to plan changes: an offline interpreter for retouching instructions, and how its reading is applied.

`interpret(text)` reads an instruction the way PerTouch's agent classifies one: *strong* ("brighten the faces
a little, cool down the sky"), *weak, optimise* ("make it pop") or *weak, style* ("moody", "film look"). It
returns an `Interpretation`: edits (a target, an attribute or a Lightroom slider, a signed amount, and the
statistic the edit should move, for the render-measure-correct loop), protected regions ("don't touch the
sky"), constraints ("no more saturation", "not too bright") and `unmet`: everything it could not do, and why.
It never guesses silently: an instruction it cannot read gets an answer that says so.

How it reads: the text is normalised (case, contractions, unicode minus, numbers with units), words outside
the vocabulary are corrected when they are one or two edits away from a vocabulary word, and the text is
split into clauses at ",", ";", "and", "but", "then". Each clause is read by word class (direction words and
verbs, nouns for sliders and attributes, region nouns, intensity words, negation, protection, styles); a
clause that names only a region borrows the action of the clause before it ("brighten the faces and the
hair"), one that names only an action may borrow the region of the next ("brighten and warm the faces").

Amounts: attribute units (see `attributes.py`) scaled by intensity words, after PerTouch (about 0.1 for
"slightly", 0.4 for "very"); a request that names a slider moves it by the same fraction of its own unit
(`attributes.slider_unit`). Explicit numbers win: "+0.5 EV", "1 stop", "by 20" (slider units), "20%".

Styles and the weak-optimise recipe are small documented tables (`STYLES`, `OPTIMISE`) of global and
per-region edits at plain intensity, scaled by any intensity word; an explicit request in the same
instruction wins over a recipe's edit of the same thing.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from ..core.params import GLOBAL, GLOBAL_PARAMS, LOCAL, LOCAL_PARAMS, canonical_name
from ..core.plan import RetouchPlan
from ..core.regions import HUMAN_REGIONS, REGION_BY_KEY, region as lookup_region
from .attributes import (
    ATTRIBUTES, PlanEditor, attribute_name, contains, describe_change, family, levers, slider_unit, statistic,
)

STRONG = "strong"
WEAK_OPTIMISE = "weak_optimise"
WEAK_STYLE = "weak_style"
UNKNOWN = "unknown"
KINDS = (STRONG, WEAK_OPTIMISE, WEAK_STYLE, UNKNOWN)

# Why part of an instruction was not carried out.
UNMET_REASONS = {
    "empty": "there is no instruction",
    "not_understood": "the words were not understood",
    "ambiguous": "it does not say which way or what to change",
    "unknown_region": "that part of the photo is not one we can select",
    "unsupported_region": "Lightroom's mask for that region cannot be written yet",
    "absent_region": "that region is not in this photo",
    "person_unresolved": "which person is meant cannot be told for this photo",
    "contradiction": "the instruction asks for opposite things",
    "unsupported": "that is not a develop setting",
}

# Intensity levels in attribute units (PerTouch: about 0.1 for "slightly", 0.4 for "very").
TINY, SLIGHT, SOMEWHAT, PLAIN, MUCH, VERY, EXTREME = 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.6
GLOBAL_TARGET = "global"


@dataclass(frozen=True)
class Statistic:
    """What an edit should do to the rendered photo: a region's luminance, contrast, chroma, b* or a*
    going up (+1) or down (-1). The rethink loop measures it before and after."""

    region: str
    measure: str
    direction: int


@dataclass
class Edit:
    """One change: `attribute` (attribute units, [-1, 1]) or `param` (a slider of the target's scope, UI
    units) on `target` ("global" or a region key; `person` picks one person). `op` "set" gives a value."""

    target: str
    amount: float
    attribute: str | None = None
    param: str | None = None
    op: str = "add"
    person: int | None = None
    origin: str = STRONG  # strong, style:<name>, optimise:<name>
    source: str = ""  # the words it was read from
    explicit: bool = False  # the amount was a number in the instruction

    @property
    def name(self) -> str:
        return self.attribute or self.param or ""

    @property
    def scope(self) -> str:
        return GLOBAL if self.target == GLOBAL_TARGET else LOCAL

    @property
    def direction(self) -> int:
        value = self.amount
        if self.op == "set" and self.param:
            table = GLOBAL_PARAMS if self.scope == GLOBAL else LOCAL_PARAMS
            default = table[self.param].default
            value = self.amount - (default if isinstance(default, (int, float)) else 0.0)
        return (value > 0) - (value < 0)

    @property
    def family(self) -> str:
        return family(self.name)

    @property
    def statistic(self) -> Statistic | None:
        measure = statistic(self.name)
        if measure is None or not self.direction:
            return None
        where = f"person#{self.person}" if self.person is not None else self.target
        return Statistic(where, measure, self.direction)

    @property
    def where(self) -> str:
        return f"{self.target}#{self.person}" if self.person is not None else self.target

    def describe(self) -> str:
        if self.op == "set":
            return f"{self.where} {self.name} = {self.amount:g}"
        if self.param and (GLOBAL_PARAMS if self.scope == GLOBAL else LOCAL_PARAMS)[self.param].unit == "EV":
            return f"{self.where} {self.name} {self.amount:+.2f} EV"
        return f"{self.where} {self.name} {self.amount:+.2f}" if self.attribute else \
            f"{self.where} {self.name} {self.amount:+.0f}"

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"target": self.target, "amount": self.amount}
        for key in ("attribute", "param", "person"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.op != "add":
            out["op"] = self.op
        out.update(origin=self.origin, source=self.source, explicit=self.explicit)
        stat = self.statistic
        if stat is not None:
            out["statistic"] = {"region": stat.region, "measure": stat.measure, "direction": stat.direction}
        return out


@dataclass
class Constraint:
    """What must not happen: `family` (an attribute or slider) must not move in `direction` (+1, -1; 0 for
    neither way) on `target`. `limit`: it may move, but only a little ("not too bright")."""

    target: str
    family: str
    direction: int
    limit: bool = False
    source: str = ""

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Unmet:
    """Part of an instruction that was not carried out: a reason from `UNMET_REASONS` and a message."""

    reason: str
    text: str
    message: str

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Interpretation:
    """What an instruction asks for, what could not be done, and why."""

    text: str
    kind: str = UNKNOWN
    edits: list[Edit] = field(default_factory=list)
    protected: list[str] = field(default_factory=list)
    constraints: list[Constraint] = field(default_factory=list)
    unmet: list[Unmet] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    corrections: dict[str, str] = field(default_factory=dict)  # typed word -> vocabulary word
    source: str = "offline"

    def to_dict(self) -> dict:
        return {"text": self.text, "kind": self.kind, "edits": [e.to_dict() for e in self.edits],
                "protected": list(self.protected), "constraints": [c.to_dict() for c in self.constraints],
                "unmet": [u.to_dict() for u in self.unmet], "notes": list(self.notes),
                "corrections": dict(self.corrections), "source": self.source}

    def summary(self) -> str:
        """One readable paragraph: what will change, what is protected, what could not be done."""
        parts = []
        if self.edits:
            parts.append("will change: " + "; ".join(e.describe() for e in self.edits))
        if self.protected:
            parts.append("leaves alone: " + ", ".join(self.protected))
        for u in self.unmet:
            parts.append(u.message)
        return ". ".join(parts) if parts else "nothing to change"


# -- vocabulary -----------------------------------------------------------------------------------------------
# Every word the interpreter knows, by class. Slider names are checked against the parameter table at import
# (`_check_vocabulary`); ranges and units always come from the table.

@dataclass(frozen=True)
class Lex:
    """A vocabulary word: `kind` says what it does in a clause.

    dir: a direction (`sign`), with `default` changes [(attribute or slider, sign)] when no noun is named
    ("brighten"); noun: an attribute or slider (`name`), `sign` -1 when more of the word means less of the
    slider ("haze"); region: `keys` of the region vocabulary ("skin" is face and body skin); person: a
    person noun ("man", "bride"); int: an intensity `level`; style / optimise: a recipe `name`; defect: a
    complaint whose fix is `default` ("overexposed"); unsupported: an operation no develop setting does.
    """

    kind: str
    sign: int = 0
    default: tuple[tuple[str, int], ...] = ()
    name: str = ""
    keys: tuple[str, ...] = ()
    level: float = 0.0
    special: str = ""


def _words(kind: str, words: str, **fields) -> dict[str, Lex]:
    return {w: Lex(kind, **fields) for w in words.split()}


def _dirs(sign: int, default: str, words: str, special: str = "") -> dict[str, Lex]:
    changes = tuple((name, sign) for name in default.split()) if default else ()
    return _words("dir", words, sign=sign, default=changes, special=special)


LEX: dict[str, Lex] = {}
# Direction words that carry their own attribute or slider ("brighten": brightness up).
LEX.update(_dirs(+1, "brightness", "brighten brighter bright brightened lighten lighter light lit"))
LEX.update(_dirs(-1, "brightness", "darken darker dark darkened dim dimmer"))
LEX.update(_dirs(+1, "temperature", "warm warmer warmen hotter yellower yellow orange"))
LEX.update(_dirs(-1, "temperature", "cool cooler cold colder bluer blue chill"))
LEX.update(_dirs(-1, "Tint", "green greener"))
LEX.update(_dirs(+1, "Tint", "magenta pinker pink purple"))
LEX.update(_dirs(+1, "Saturation", "saturate saturated"))
LEX.update(_dirs(-1, "Saturation", "desaturate desaturated unsaturated"))
LEX.update(_dirs(+1, "colourfulness", "vivid vivider vibrant colourful colorful richer rich"))
LEX.update(_dirs(-1, "colourfulness", "mute muted duller paler pale"))
LEX.update(_dirs(+1, "contrast", "contrasty punchy punchier"))
LEX.update(_dirs(-1, "contrast", "flatter"))
LEX.update(_dirs(+1, "Sharpness", "sharpen sharper sharp"))
LEX.update(_dirs(+1, "Clarity2012", "crisp crisper crispen define"))
LEX.update(_dirs(-1, "Clarity2012", "soften softer soft", special="soft"))
LEX.update(_dirs(-1, "Texture", "smooth smoother smoothen smoothing", special="soft"))
LEX.update(_dirs(+1, "Dehaze", "dehaze"))
LEX.update(_dirs(+1, "LuminanceSmoothing", "denoise"))
LEX.update(_dirs(+1, "", "whiten", special="whiten"))
LEX.update(_dirs(-1, "brightness colourfulness", "tone_down"))
# Pure direction words: they need a noun ("more contrast") or borrow one.
LEX.update(_dirs(+1, "", "more increase raise lift boost add higher stronger intensify amplify strengthen "
                         "heighten push pump bump extra open enhance"))
LEX.update(_dirs(-1, "", "less reduce decrease lower cut drop weaken minimise minimize diminish fewer tame "
                         "crush lose subtract"))
LEX.update(_dirs(+1, "", "up", special="particle"))
LEX.update(_dirs(-1, "", "down", special="particle"))
LEX.update(_dirs(-1, "", "remove eliminate", special="remove"))
LEX.update(_dirs(0, "", "recover restore", special="recover"))
LEX.update(_dirs(0, "", "deeper deepen deep", special="deep"))
LEX.update(_dirs(+1, "", "pop", special="pop"))
# Nouns: attributes and sliders.
LEX.update(_words("noun", "brightness", name="brightness", sign=1))
LEX.update(_words("noun", "exposure", name="Exposure2012", sign=1))
LEX.update(_words("noun", "contrast", name="contrast", sign=1))
LEX.update(_words("noun", "saturation", name="Saturation", sign=1))
LEX.update(_words("noun", "vibrance vibrancy", name="Vibrance", sign=1))
LEX.update(_words("noun", "colour colours color colors colourfulness colorfulness vividness", name="colourfulness",
                  sign=1))
LEX.update(_words("noun", "warmth temperature temp", name="temperature", sign=1))
LEX.update(_words("noun", "shadows shadow darks", name="Shadows2012", sign=1))
LEX.update(_words("noun", "highlights highlight", name="Highlights2012", sign=1))
LEX.update(_words("noun", "whites", name="Whites2012", sign=1))
LEX.update(_words("noun", "blacks", name="Blacks2012", sign=1))
LEX.update(_words("noun", "clarity definition detail details", name="Clarity2012", sign=1))
LEX.update(_words("noun", "texture", name="Texture", sign=1))
LEX.update(_words("noun", "haze fog mist", name="Dehaze", sign=-1))
LEX.update(_words("noun", "noise", name="LuminanceSmoothing", sign=-1))
LEX.update(_words("noun", "grain", name="GrainAmount", sign=1))
LEX.update(_words("noun", "vignette vignetting", name="PostCropVignetteAmount", sign=-1))
LEX.update(_words("noun", "sharpness sharpening", name="Sharpness", sign=1))
LEX.update(_words("noun", "tint", name="Tint", sign=1))
# Regions.
LEX.update(_words("person", "subject subjects people persons person bride groom couple man men woman women guy "
                            "guys lady ladies girl girls boy boys child children kid kids baby model models "
                            "family him her them he she they bridesmaids guests one", keys=("subject",)))
LEX.update(_words("region", "face faces complexion", keys=("face_skin",)))
LEX.update(_words("region", "skin", keys=("face_skin", "body_skin")))
LEX.update(_words("region", "body arms arm legs leg hands hand shoulders", keys=("body_skin",)))
LEX.update(_words("region", "hair hairs", keys=("hair",)))
LEX.update(_words("region", "eyes eye iris irises pupils", keys=("eyes",)))
LEX.update(_words("region", "sclera", keys=("eye_sclera",)))
LEX.update(_words("region", "lips lip mouth lipstick", keys=("lips",)))
LEX.update(_words("region", "teeth tooth smile", keys=("teeth",)))
LEX.update(_words("region", "eyebrows eyebrow brows", keys=("eyebrows",)))
LEX.update(_words("region", "clothes clothing dress dresses suit suits shirt jacket outfit gown", keys=("clothes",)))
LEX.update(_words("region", "sky skies clouds cloud", keys=("sky",)))
LEX.update(_words("region", "background backgrounds backdrop bg surroundings", keys=("background",)))
LEX.update(_words("region", "building buildings architecture house houses city", keys=("architecture",)))
LEX.update(_words("region", "trees tree grass foliage plants leaves forest greenery bushes", keys=("vegetation",)))
LEX.update(_words("region", "water sea ocean lake river waves", keys=("water",)))
LEX.update(_words("region", "ground sand beach field fields", keys=("natural_ground",)))
LEX.update(_words("region", "mountains mountain hills hill", keys=("mountains",)))
LEX.update(_words("region", "road roads street streets pavement", keys=("artificial_ground",)))
LEX.update(_words("region", "corners edges", keys=("corners",)))
LEX.update(_words("global", "everything all image photo photograph picture pic shot frame overall whole entire "
                            "scene everywhere"))
# Intensity.
LEX.update(_words("int", "tiny barely", level=TINY))
LEX.update(_words("int", "slightly slight subtle subtly gently gentle mildly mild tad", level=SLIGHT))
LEX.update(_words("int", "somewhat moderately fairly kinda rather quite", level=SOMEWHAT))
LEX.update(_words("int", "much considerably noticeably significantly substantially lots", level=MUCH))
LEX.update(_words("int", "very really way strongly heavily super seriously far", level=VERY))
LEX.update(_words("int", "extremely massively hugely drastically insanely", level=EXTREME))
# Negation, protection, limits.
LEX.update(_words("neg", "not no never without avoid nothing"))
LEX.update(_words("protect", "touch touching change changing alter altering edit editing modify modifying affect "
                             "affecting adjust adjusting mess process"))
LEX.update(_words("keep", "keep leave leaving keeping preserve protect retain spare"))
LEX.update(_words("asis", "alone untouched unchanged intact original same asis"))
LEX.update(_words("except", "except excluding exclude"))
LEX.update(_words("too", "too"))
LEX.update(_words("enough", "enough"))
LEX.update(_words("set", "set"))
# Person selection.
LEX.update(_words("pos", "left leftmost", name="left"))
LEX.update(_words("pos", "right rightmost", name="right"))
LEX.update(_words("pos", "middle center centre", name="middle"))
for _n, _words_ in enumerate(("first 1st", "second 2nd", "third 3rd", "fourth 4th", "fifth 5th"), start=1):
    LEX.update(_words("ord", _words_, level=float(_n)))
LEX.update(_words("ord", "last", level=-1.0))
# Complaints: the photo has a defect; `default` is the fix.
LEX["overexposed"] = Lex("defect", default=(("brightness", -1),))
LEX["underexposed"] = Lex("defect", default=(("brightness", +1),))
LEX["washed_out"] = Lex("defect", default=(("contrast", +1), ("colourfulness", +1)))
LEX["flat"] = Lex("defect", default=(("contrast", +1),))
LEX["lifeless"] = Lex("defect", default=(("contrast", +1), ("colourfulness", +1)))
LEX["muddy"] = Lex("defect", default=(("contrast", +1), ("Dehaze", +1)))
LEX["murky"] = Lex("defect", default=(("brightness", +1), ("Dehaze", +1)))
LEX["dull"] = Lex("defect", default=(("colourfulness", +1), ("contrast", +1)))
LEX["hazy"] = Lex("defect", default=(("Dehaze", +1),))
LEX["noisy"] = Lex("defect", default=(("LuminanceSmoothing", +1),))
LEX["grainy"] = Lex("defect", default=(("LuminanceSmoothing", +1),))
LEX["blurry"] = Lex("defect", default=(("Sharpness", +1),))
LEX["harsh"] = Lex("defect", default=(("contrast", -1),))
LEX["blow_out"] = Lex("defect", default=(("Highlights2012", -1),))
# Recipes and requests we cannot carry out.
for _style, _names in {
    "moody": "moody moodier moodiness", "airy": "airy", "film": "film filmic analog analogue",
    "golden_hour": "golden_hour golden", "matte": "matte matt", "faded": "faded fade",
    "cinematic": "cinematic cinema movie", "teal_and_orange": "teal_and_orange", "vintage": "vintage retro nostalgic",
    "black_and_white": "black_and_white monochrome mono grayscale greyscale bw", "clean": "clean natural",
    "dramatic": "dramatic drama epic", "high_key": "high_key", "low_key": "low_key", "hdr": "hdr",
    "dreamy": "dreamy ethereal", "soft_skin": "soft_skin",
}.items():
    LEX.update(_words("style", _names, name=_style))
LEX.update(_words("optimise", "fix enhance improve better nicer good great professional polish polished optimise "
                              "optimize auto beautiful prettier amazing best perfect touch_up retouch stunning nice",
                  name="general"))
LEX["enhance"] = Lex("optimise", sign=+1, name="general")  # "enhance the colours": a direction with a noun
LEX.update(_words("unsupported", "erase delete replace crop straighten rotate resize clone swap blur move cut "
                                 "sunset rainbow sun moon"))
# Words that carry no meaning of their own here.
FILLER = frozenset(
    "the a an to of in on at for with it its it's is are be was were this that these those make makes making "
    "made get gets give please can could would will you me my i i'm want wanted like just some so look looks "
    "looking seem seems feel feels bit lot little by stop stops ev amount tones tone area areas part parts "
    "need needs should has have there thanks thank ok okay hey hi here now from as way little his their our "
    "your we us do does let lets also whole side bits much while kind sort of turn bring dial crank pull go "
    "them's what how else things thing all look please's high low key hour out white black teal".split())
SEPARATORS = frozenset({",", ";", ".", "!", "?", "and", "but", "then", "also", "plus", "while", "&"})
DETERMINERS = frozenset("the a an his her their my our your this that these those its".split())
PREPOSITIONS = frozenset("on in of to for at around across".split())

# Phrases read as one word (after spelling correction). Order matters: longer phrases first.
PHRASES: tuple[tuple[str, str], ...] = (
    (r"\bb ?(?:&|and|/) ?w\b", "black_and_white"), (r"\bblack[ -]?(?:&|and)[ -]?white\b", "black_and_white"),
    (r"\b(?:teal (?:and|&) orange|orange (?:and|&) teal)\b", "teal_and_orange"),
    (r"\b(?:bright|light) (?:and|&) airy\b|\bairy (?:and|&) (?:bright|light)\b", "airy"),
    (r"\bdark (?:and|&) moody\b|\bmoody (?:and|&) dark\b", "moody"),
    (r"\bclean (?:and|&) natural\b|\bnatural (?:and|&) clean\b", "clean"),
    (r"\bgolden[ -]hour\b", "golden_hour"), (r"\bhigh[ -]key\b", "high_key"), (r"\blow[ -]key\b", "low_key"),
    (r"\b(?:soft|smooth|smoother|softer)(?: looking)? skin\b", "soft_skin"),
    (r"\b(?:smooth|smoothen|soften) (?:out )?(?:the |her |his |their )?skin\b", "soft_skin"),
    (r"\bskin (?:smoothing|softening)\b", "soft_skin"),
    (r"\bwhites? of (?:the |her |his |their )?eyes\b", "sclera"),
    (r"\bskin ?tones?\b", "skin"), (r"\bwhite balance\b", "white_balance"),
    (r"\bwashed[ -]out\b", "washed_out"), (r"\b(?:blow|blows|blowing|blown|clip|clipping) out\b", "blow_out"),
    (r"\bclipping\b|\bclipped\b", "blow_out"),
    (r"\bover[ -]exposed\b", "overexposed"), (r"\bunder[ -]exposed\b", "underexposed"),
    (r"\btouch(?:ing)? up\b", "touch_up"), (r"\btone(?:d)? (?:it )?down\b", "tone_down"),
    (r"\bwarm(?:ing)? up\b", "warm"), (r"\bcool(?:ing)? down\b", "cool"), (r"\bcalm(?:ing)? down\b", "tone_down"),
    (r"\b(?:brighten|lighten) up\b", "brighten"), (r"\bdarken down\b", "darken"),
    (r"\bopen(?:ing)? up\b", "lift"), (r"\b(?:bring|turn|dial|crank|pump|pull|bump) up\b", "raise"),
    (r"\b(?:bring|turn|dial|pull|knock) down\b", "lower"), (r"\bget rid of\b", "remove"),
    (r"\bas (?:it|they) (?:is|are|were|was)\b|\bas is\b|\bthe way (?:it|they) (?:is|are)\b", "asis"),
    (r"\b(?:apart|aside) from\b|\bother than\b|\bexcept for\b", "except"),
    (r"\b(?:everything|all|anything) but\b", "everything except"),
    (r"\beverything else\b|\bthe rest(?: of (?:the )?(?:image|photo|picture))?\b", "everything"),
    (r"\bvery slightly\b|\ba (?:tiny|wee) bit\b|\bever so slightly\b|\bjust a touch\b", "tiny"),
    (r"\ba little bit\b|\ba little\b|\ba bit\b|\ba touch\b|\ba tad\b|\ba hint\b|\blittle\b|\bjust a bit\b", "slightly"),
    (r"\ba lot(?: of)?\b|\ba great deal\b|\bby far\b", "much"),
    (r"\bsuper duper\b|\bway way\b", "extremely"),
)
NUMBER_WORDS = {"half": 0.5, "one": 1.0, "two": 2.0, "three": 3.0, "a": 1.0, "an": 1.0, "a full": 1.0,
                "a third of a": 1 / 3, "one third of a": 1 / 3, "a quarter of a": 0.25, "a half": 0.5}

_TOKEN = re.compile(r"[+-]?(?:\d+(?:\.\d+)?|\.\d+)(?:/\d+)?(?:\s*(?:%|percent\b|ev\b|stops?\b|f-?stops?\b))?"
                    r"|[a-z][a-z_'&]*|[,;.!?]")
_NUMBER = re.compile(r"([+-]?)(\d+(?:\.\d+)?|\.\d+)(?:/(\d+))?\s*(%|percent|ev|stops?|f-?stops?)?$")


@dataclass
class Token:
    """A word, a number (`value`, `unit`: None, 'ev', '%') or a separator; `lex` is its vocabulary entry."""

    text: str
    lex: Lex | None = None
    value: float | None = None
    unit: str | None = None
    signed: bool = False

    @property
    def kind(self) -> str:
        if self.value is not None:
            return "num"
        if self.text in SEPARATORS:
            return "sep"
        if self.lex is not None:
            return self.lex.kind
        return "filler" if self.text in FILLER else "unknown"


def _normalise(text: str) -> str:
    text = text.lower()
    for a, b in (("\u2212", "-"), ("\u2013", "-"), ("\u2014", " - "), ("\u2019", "'"), ("\u2018", "'"),
                 ("\u201c", " "), ("\u201d", " "), ('"', " "), (":", " "), ("(", " "), (")", " ")):
        text = text.replace(a, b)
    text = re.sub(r"\b(?:don't|dont|do not|doesn't|does not|shouldn't|should not|mustn't|must not|never|"
                  r"isn't|aren't|won't|can't|cannot)\b", lambda m: {"isn't": "is not", "aren't": "are not"}.get(
                      m.group(0), "not"), text)
    text = re.sub(r"\b(it|that|what|there)'s\b", r"\1 is", text)
    text = re.sub(r"'s\b|s'(?=\s|$)", "", text)  # possessives: "the bride's face" -> "the bride face"
    text = re.sub(r"(?<=[a-z])-(?=[a-z])", " ", text)  # "high-key" -> "high key"
    return re.sub(r"\s+", " ", text).strip()


def _numbers_in_words(text: str) -> str:
    """'half a stop' -> '0.5 stop', 'by a stop' -> 'by 1 stop', 'two stops' -> '2 stops'."""
    words = "|".join(sorted((re.escape(w) for w in NUMBER_WORDS), key=len, reverse=True))
    return re.sub(rf"\b({words}) (stops?|ev)\b|\bhalf an? (stop|ev)\b",
                  lambda m: f"{NUMBER_WORDS.get(m.group(1), 0.5) if m.group(1) else 0.5:g} stop", text)


def _osa(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (edits: insert, delete, substitute, swap neighbours), capped."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


def _vocabulary() -> tuple[str, ...]:
    words = {w for w in LEX if "_" not in w and w.isalpha()}
    words |= {w for w in FILLER if len(w) >= 4 and w.isalpha()}
    for _, replacement in PHRASES:
        words.update(w for w in replacement.split("_") if w.isalpha())
    return tuple(sorted(words))


VOCABULARY = _vocabulary()


def correct(word: str) -> str | None:
    """The vocabulary word a typo most likely stands for, or None.

    Short words (4-5 letters) only for a dropped, doubled or swapped letter with the first letter right
    ("fcae", "skyy", "warmr"): substitutions there turn real words into others ("pool" is not "cool").
    Longer words allow one edit of any kind, and two from eight letters on.
    """
    if len(word) < 4 or not word.isalpha() or word in LEX or word in FILLER:
        return None
    limit = 2 if len(word) >= 8 else 1
    best: tuple[int, int, str] | None = None
    for cand in VOCABULARY:
        if len(word) <= 5 and (cand[0] != word[0] or len(cand) == len(word) and sorted(cand) != sorted(word)):
            continue
        if limit == 2 and cand[0] != word[0]:
            continue
        d = _osa(word, cand, limit)
        if d <= limit:
            key = (d, abs(len(cand) - len(word)), cand)
            if best is None or key < best:
                best = key
    return best[2] if best else None


def tokenise(text: str) -> tuple[list[Token], dict[str, str]]:
    """Normalised, spelling-corrected, phrase-joined tokens, and the corrections made {typed: read}."""
    corrections: dict[str, str] = {}
    words = []
    for piece in re.findall(r"[^\s]+", _normalise(text)):
        fixed = correct(piece) if piece.isalpha() else None
        if fixed:
            corrections[piece] = fixed
        words.append(fixed or piece)
    joined = _numbers_in_words(" ".join(words))
    for pattern, replacement in PHRASES:
        joined = re.sub(pattern, replacement, joined)
    tokens = []
    for raw in _TOKEN.findall(joined):
        m = _NUMBER.match(raw)
        if m:
            sign, digits, denominator, unit = m.groups()
            value = float(digits) / (float(denominator) if denominator else 1.0)
            value = -value if sign == "-" else value
            unit = None if unit is None else ("%" if unit in ("%", "percent") else "ev")
            tokens.append(Token(raw, value=value, unit=unit, signed=bool(sign)))
        else:
            tokens.append(Token(raw, LEX.get(raw)))
    return tokens, corrections
