"""Words to plan changes: an offline interpreter for retouching instructions, and how its reading is applied.

`interpret(text)` reads an instruction the way PerTouch's agent classifies one: *strong* ("brighten the faces
a little, cool down the sky"), *weak, optimise* ("make it pop") or *weak, style* ("moody", "film look"). It
returns an `Interpretation`: edits (a target, an attribute or a Lightroom slider, a signed amount, and the
statistic the edit should move, for the render-measure-correct loop), protected regions ("don't touch the
sky"), constraints ("no more saturation", "not too bright") and `unmet`: everything it could not do, and why.
One person ("not the man on the left") is protected or constrained as "person:N", the key of that person's mask.
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
    ATTRIBUTES, PlanEditor, contains, describe_change, family, levers, slider_unit, statistic,
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
MAX_INSTRUCTION_CHARS = 2000


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
LEX.update(_dirs(+1, "Exposure2012", "overexpose"))
LEX.update(_dirs(-1, "Exposure2012", "underexpose"))
LEX.update(_dirs(+1, "Dehaze", "dehaze"))
LEX.update(_dirs(+1, "LuminanceSmoothing", "denoise"))
LEX["stand_out"] = Lex("dir", sign=+1, default=(("brightness", +1), ("contrast", +1)))
LEX["whiten"] = Lex("dir", sign=+1, default=(("brightness", +1), ("colourfulness", -1)))
LEX.update(_dirs(-1, "brightness colourfulness", "tone_down"))
# Pure direction words: they need a noun ("more contrast") or borrow one.
LEX.update(_dirs(+1, "", "more increase raise lift boost add higher stronger intensify amplify strengthen "
                         "heighten push pump bump extra open enhance"))
LEX.update(_dirs(-1, "", "less reduce decrease lower cut drop weaken minimise minimize diminish fewer tame "
                         "crush lose subtract"))
LEX.update(_dirs(+1, "", "up", special="particle"))
LEX.update(_dirs(-1, "", "down", special="particle"))
LEX.update(_dirs(-1, "", "remove eliminate kill", special="remove"))
LEX.update(_dirs(0, "", "recover restore", special="recover"))
LEX.update(_dirs(0, "", "deeper deepen deep", special="deep"))
LEX.update(_dirs(+1, "", "pop", special="pop"))
# Nouns: attributes and sliders.
LEX.update(_words("noun", "brightness", name="brightness", sign=1))
LEX.update(_words("noun", "exposure", name="Exposure2012", sign=1))
LEX.update(_words("noun", "contrast punch", name="contrast", sign=1))
LEX.update(_words("noun", "saturation", name="Saturation", sign=1))
LEX.update(_words("noun", "vibrance vibrancy", name="Vibrance", sign=1))
LEX.update(_words("noun", "colour colours color colors colourfulness colorfulness vividness", name="colourfulness",
                  sign=1))
LEX.update(_words("noun", "warmth temperature temp white_balance", name="temperature", sign=1))
LEX.update(_words("noun", "shadows shadow darks", name="Shadows2012", sign=1))
LEX.update(_words("noun", "highlights highlight glare shine", name="Highlights2012", sign=1))
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
LEX.update(_words("region", "face faces complexion forehead cheeks cheek nose chin", keys=("face_skin",)))
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
                            "scene everywhere portrait landscape"))
# Intensity.
LEX.update(_words("int", "tiny barely", level=TINY))
LEX.update(_words("int", "slightly slight subtle subtly gently gentle mildly mild tad", level=SLIGHT))
LEX.update(_words("int", "somewhat moderately fairly kinda rather quite", level=SOMEWHAT))
LEX.update(_words("int", "much considerably noticeably significantly substantially lots", level=MUCH))
LEX.update(_words("int", "very really way strongly heavily super seriously far strong heavy", level=VERY))
LEX.update(_words("int", "extremely massively hugely drastically insanely", level=EXTREME))
# Negation, protection, limits.
LEX.update(_words("neg", "not no never without avoid nothing"))
LEX.update(_words("protect", "touch touching change changing alter altering edit editing modify modifying affect "
                             "affecting adjust adjusting mess process"))
LEX.update(_words("keep", "keep leave leaving keeping preserve protect retain spare"))
LEX.update(_words("asis", "alone untouched unchanged intact original same asis"))
LEX.update(_words("except", "except excluding exclude"))
LEX.update(_words("too", "too overdo overboard overcook"))
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
# blown highlights: pull the highlights and bring the white point down a little (Highlights alone leaves white
# itself where it is)
LEX["blow_out"] = LEX["blown"] = Lex("defect", default=(("Highlights2012", -1), ("Whites2012", -1)))
# Recipes and requests we cannot carry out.
for _style, _names in {
    "moody": "moody moodier moodiness mood", "airy": "airy", "film": "film filmic analog analogue",
    "golden_hour": "golden_hour golden", "matte": "matte matt", "faded": "faded fade",
    "cinematic": "cinematic cinema movie", "teal_and_orange": "teal_and_orange", "vintage": "vintage retro nostalgic",
    "black_and_white": "black_and_white monochrome mono grayscale greyscale bw noir", "sepia": "sepia",
    "clean": "clean natural",
    "dramatic": "dramatic drama epic", "high_key": "high_key", "low_key": "low_key", "hdr": "hdr",
    "dreamy": "dreamy ethereal", "soft_skin": "soft_skin",
}.items():
    LEX.update(_words("style", _names, name=_style))
LEX.update(_words("optimise", "fix enhance improve better nicer good great professional polish polished optimise "
                              "optimize auto beautiful prettier amazing best perfect touch_up retouch stunning nice",
                  name="general"))
LEX["enhance"] = Lex("optimise", sign=+1, name="general")  # "enhance the colours": a direction with a noun
LEX.update(_words("unsupported", "erase delete replace crop straighten rotate resize clone swap blur move cut"))
# Words that carry no meaning of their own here.
FILLER = frozenset(
    "the a an to of in on at for with it its it's is are be was were this that these those make makes making "
    "made get gets give please can could would will you me my i i'm want wanted like just some so look looks "
    "looking seem seems feel feels bit lot little by stop stops ev amount tones tone area areas part parts "
    "need needs should has have there thanks thank ok okay hey hi here now from as way little his their our "
    "your we us do does let lets also whole side bits much while kind sort of turn bring dial crank pull go "
    "what how else things thing high low key hour out white black teal convert turn into love lovely wow "
    "thanks cheers".split())
# Common English words: never "corrected" into vocabulary words ("back" is not "black").
COMMON = frozenset(
    "about above after again against almost along already although always among another any anyone anything "
    "away back because been before behind being below between both came come did done each even ever every "
    "few find found gave goes going gone got had having however if into know least lets likes long many maybe "
    "might mine most must myself near new next nor off often old once only onto or other others ours over own "
    "per perhaps put see seen several shall show since something sometimes somewhere still such take than "
    "think though through thus till toward towards try under until upon use used using via well went when "
    "where whether which who whom whose why within yet yours bank band bake bale bare base bass beat bend "
    "best bird body book boat bold cold cook coal cope card care cart case cast cool dock dome door dose "
    "fact fair fake fall fame farm fast fate feet fill film fine fire firm fish flat folk food foot form "
    "gain game gate gift girl glad goal gold hair half hall hard harm hate heat hold hole home hope host "
    "hour huge idea iron item join jump kind king knee lack lake land lane last late lead lean left lend "
    "life lift like line link list live load loan lock look loss love luck mail main male mark mass meal "
    "mean meat meet menu mind miss mode mood moon move name need news nice note open pace pack page pain "
    "pair palm park part pass past path peak pick pile pink pipe plan play plot plus poem pole poll pool "
    "poor port pose post pour pull pure push race rain rank rare rate read real rest rice rich ride ring "
    "rise risk road rock role roll roof room root rope rose rule rush safe sail sale salt sand save seat "
    "seed seek self sell send ship shoe shop shot show shut sick sign sing site size skin slip slow snow "
    "soil sole song soon sort soul spot star stay step stop suit sure swim tail tale talk tall tank tape "
    "task team tear tell tend term test text than tide tile time tiny tone tool tour town trap tree trip "
    "true tune turn twin type unit vast very view vote wage wait wake walk wall want warm wash wave weak "
    "wear week well west wide wife wild will wind wine wing wire wise wish wood word work yard year zone "
    "horse house mouse cars cats dogs".split())
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
    (r"\btouch(?:ing)? (?:it |this |the (?:photo|image|picture) )?up\b", "touch_up"),
    (r"\bfar (left|right)\b", r"\1most"), (r"\btone(?:d)? (?:it )?down\b", "tone_down"),
    (r"\bwarm(?:ing)? up\b", "warm"), (r"\bcool(?:ing)? down\b", "cool"), (r"\bcalm(?:ing)? down\b", "tone_down"),
    (r"\b(?:brighten|lighten) up\b", "brighten"), (r"\bdarken down\b", "darken"),
    (r"\bopen(?:ing)? up\b", "lift"), (r"\b(?:bring|turn|dial|crank|pump|pull|bump) up\b", "raise"),
    (r"\b(?:bring|turn|dial|pull|knock) down\b", "lower"), (r"\bget rid of\b", "remove"),
    (r"\b(?:dial|pull|scale|cut|turn) back\b|\bback off\b", "reduce"), (r"\bbring out\b", "raise"),
    (r"\bas (?:it|they) (?:is|are|were|was)\b|\bas is\b|\bthe way (?:it|they) (?:is|are)\b", "asis"),
    (r"\b(?:apart|aside) from\b|\bother than\b|\bexcept for\b", "except"),
    (r"\b(?:everything|all|anything) but\b", "everything except"),
    (r"\beverything else\b|\bthe rest(?: of (?:the )?(?:image|photo|picture))?\b", "everything"),
    (r"\bnot so\b", "less"),
    (r"\bstand(?:s|ing)? out(?: (?:more|better))?(?: (?:from|against) (?:the )?(?:background|backdrop|rest))?\b",
     "stand_out"),
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
    text = re.sub(r"\b(\d+/\d+) of an? (stop|ev)\b", r"\1 stop", text)
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


def lemma(word: str) -> str | None:
    """The vocabulary form of an inflected word ('brightening' -> 'brighten', 'reduced' -> 'reduce')."""
    for suffix, repl in (("ing", ""), ("ing", "e"), ("ed", ""), ("ed", "e"), ("d", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            stem = word[: len(word) - len(suffix)] + repl
            if stem in LEX:
                return stem
            if suffix in ("ing", "ed") and len(stem) > 3 and stem[-1] == stem[-2] and stem[:-1] in LEX:
                return stem[:-1]  # "cropping" -> "crop"
    return None


def correct(word: str) -> str | None:
    """The vocabulary word a typo most likely stands for, or None.

    Short words (4-5 letters) only for a dropped, doubled or swapped letter with the first letter right
    ("fcae", "skyy", "warmr"): substitutions there turn real words into others ("pool" is not "cool").
    Longer words allow one edit of any kind, and two from eight letters on.
    """
    if not 4 <= len(word) <= 20 or not word.isalpha() or word in LEX or word in FILLER or word in COMMON:
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
        fixed = None
        if piece.isalpha() and piece not in LEX and piece not in FILLER:
            fixed = lemma(piece)
            if fixed is None:
                fixed = correct(piece)
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
            if denominator is not None and float(denominator) == 0:
                tokens.append(Token(raw))  # "1/0" is not a number: left for the reader to report
                continue
            value = float(digits) / (float(denominator) if denominator else 1.0)
            if not math.isfinite(value) or value > 1e6:
                tokens.append(Token(raw))
                continue
            value = -value if sign == "-" else value
            unit = None if unit is None else ("%" if unit in ("%", "percent") else "ev")
            tokens.append(Token(raw, value=value, unit=unit, signed=bool(sign)))
        else:
            tokens.append(Token(raw, LEX.get(raw)))
    return tokens, corrections


# -- recipes --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Step:
    """One edit of a recipe, at plain intensity: `name` is an attribute or a slider (global name; a local
    equivalent is used on a region). `op` "set" gives a value; `scales`: an intensity word scales it.
    `optional`: skipped without complaint where the region is missing from the photo."""

    target: str
    name: str
    amount: float
    op: str = "add"
    scales: bool = True
    optional: bool = False


@dataclass(frozen=True)
class Recipe:
    """A style or an optimisation: a description for people and its steps. `needs`: a region without which
    the recipe means nothing ("dramatic sky" needs a sky)."""

    description: str
    steps: tuple[Step, ...]
    needs: str | None = None


def _recipe(description: str, *steps: tuple, needs: str | None = None) -> Recipe:
    return Recipe(description, tuple(Step(*s) if isinstance(s, tuple) else s for s in steps), needs)


G = GLOBAL_TARGET
STYLES: dict[str, Recipe] = {
    "moody": _recipe("darker and more muted, a little more contrast, softer highlights and a light vignette",
                     (G, "brightness", -0.25), (G, "colourfulness", -0.2), (G, "contrast", 0.1),
                     (G, "Highlights2012", -15), (G, "PostCropVignetteAmount", -15)),
    "airy": _recipe("brighter and softer, open shadows, slightly pastel colours",
                    (G, "brightness", 0.25), (G, "contrast", -0.15), (G, "Shadows2012", 15),
                    (G, "colourfulness", -0.05)),
    "film": _recipe("grain, lifted blacks, gentler contrast and colour, a touch warmer",
                    (G, "GrainAmount", 25), (G, "Blacks2012", 15), (G, "contrast", -0.1),
                    (G, "colourfulness", -0.1), (G, "temperature", 0.05)),
    "golden_hour": _recipe("warm, slightly richer light",
                           (G, "temperature", 0.35), (G, "colourfulness", 0.1), (G, "brightness", 0.05)),
    "matte": _recipe("lifted blacks, lower contrast, softened highlights",
                     (G, "Blacks2012", 25), (G, "contrast", -0.15), (G, "Highlights2012", -10)),
    "faded": _recipe("lifted blacks, lower contrast and muted colour",
                     (G, "Blacks2012", 20), (G, "contrast", -0.15), (G, "colourfulness", -0.2)),
    "cinematic": _recipe("more contrast, restrained colour, teal shadows and warm highlights, a vignette",
                         (G, "contrast", 0.2), (G, "colourfulness", -0.1),
                         (G, "SplitToningShadowHue", 200, "set", False), (G, "SplitToningShadowSaturation", 20, "set"),
                         (G, "SplitToningHighlightHue", 40, "set", False),
                         (G, "SplitToningHighlightSaturation", 15, "set"), (G, "PostCropVignetteAmount", -10)),
    "teal_and_orange": _recipe("teal shadows, orange highlights, more contrast",
                               (G, "contrast", 0.15), (G, "SplitToningShadowHue", 190, "set", False),
                               (G, "SplitToningShadowSaturation", 30, "set"),
                               (G, "SplitToningHighlightHue", 35, "set", False),
                               (G, "SplitToningHighlightSaturation", 25, "set")),
    "vintage": _recipe("muted and warmer, faded blacks, a little grain and vignette",
                       (G, "colourfulness", -0.25), (G, "temperature", 0.2), (G, "Blacks2012", 15),
                       (G, "contrast", -0.1), (G, "GrainAmount", 15), (G, "PostCropVignetteAmount", -10)),
    "black_and_white": _recipe("all colour removed (Saturation -100) with a little more contrast",
                               (G, "Saturation", -100, "set", False), (G, "contrast", 0.15)),
    "sepia": _recipe("colour removed, then warm brown toning in shadows and highlights",
                     (G, "Saturation", -100, "set", False), (G, "SplitToningShadowHue", 35, "set", False),
                     (G, "SplitToningShadowSaturation", 25, "set"), (G, "SplitToningHighlightHue", 45, "set", False),
                     (G, "SplitToningHighlightSaturation", 20, "set"), (G, "contrast", -0.05)),
    "clean": _recipe("a light touch: a little contrast and colour, highlights and shadows evened out",
                     (G, "contrast", 0.05), (G, "colourfulness", 0.05), (G, "Highlights2012", -10),
                     (G, "Shadows2012", 10), (G, "Dehaze", 5)),
    "dramatic": _recipe("more contrast and clarity, a little darker, a vignette; a darker, deeper sky",
                        (G, "contrast", 0.3), (G, "Clarity2012", 15), (G, "brightness", -0.1),
                        (G, "PostCropVignetteAmount", -20), ("sky", "brightness", -0.15, "add", True, True)),
    "dramatic_sky": _recipe("a darker sky with more contrast, clarity in the clouds and a little more colour",
                            ("sky", "contrast", 0.3), ("sky", "brightness", -0.2), ("sky", "Dehaze", 15),
                            ("sky", "colourfulness", 0.1), needs="sky"),
    "soft_skin": _recipe("less texture and clarity on the skin (pores and fine detail), the rest untouched",
                         ("face_skin", "Texture", -30), ("face_skin", "Clarity2012", -10),
                         ("body_skin", "Texture", -20, "add", True, True), needs="face_skin"),
    "high_key": _recipe("much brighter with open shadows and softer contrast",
                        (G, "brightness", 0.35), (G, "contrast", -0.1), (G, "Shadows2012", 20),
                        (G, "Blacks2012", 10)),
    "low_key": _recipe("much darker, deeper blacks, more contrast and a vignette",
                       (G, "brightness", -0.35), (G, "contrast", 0.15), (G, "Blacks2012", -15),
                       (G, "PostCropVignetteAmount", -15)),
    "hdr": _recipe("shadows lifted and highlights pulled down hard, with more local contrast",
                   (G, "Shadows2012", 40), (G, "Highlights2012", -40), (G, "Clarity2012", 20), (G, "Texture", 10),
                   (G, "colourfulness", 0.1)),
    "dreamy": _recipe("soft and light: lower contrast and clarity, a slight haze",
                      (G, "contrast", -0.2), (G, "Clarity2012", -20), (G, "brightness", 0.1), (G, "Dehaze", -10)),
}
# A region's version of a style ("make the background moody"), and the styles a region word turns into.
REGION_STYLES = {("dramatic", "sky"): "dramatic_sky", ("clean", "face_skin"): "soft_skin"}

OPTIMISE: dict[str, Recipe] = {
    "general": _recipe("a gentle overall polish on top of the automatic plan (which already sets exposure and "
                       "white balance): a little contrast and colour, highlights and shadows evened out",
                       (G, "contrast", 0.1), (G, "colourfulness", 0.1), (G, "Highlights2012", -10),
                       (G, "Shadows2012", 10), (G, "Clarity2012", 5)),
    "pop": _recipe("more contrast, colour and clarity",
                   (G, "contrast", 0.2), (G, "colourfulness", 0.15), (G, "Clarity2012", 10), (G, "Dehaze", 5)),
}

# Sliders with a different name on a mask (cross-name equivalents); same-named ones map to themselves.
LOCAL_EQUIVALENT = {"Vibrance": "Saturation", "LuminanceSmoothing": "LuminanceNoise", "GrainAmount": "Grain",
                    "IncrementalTint": "Tint", "IncrementalTemperature": "Temperature"}


def slider_for(name: str, scope: str) -> str | None:
    """The slider `name` (a global or local name) stands for in `scope`, or None when the scope has none
    (a vignette cannot be masked)."""
    if scope == GLOBAL:
        if name in GLOBAL_PARAMS:
            return name
        back = {v: k for k, v in LOCAL_EQUIVALENT.items() if k in GLOBAL_PARAMS}
        return back.get(name)
    if name in LOCAL_PARAMS:
        return name
    return LOCAL_EQUIVALENT.get(name)


def _check_vocabulary() -> None:
    names = [n for lex in LEX.values() for n, _ in lex.default] + [lex.name for lex in LEX.values()
                                                                    if lex.kind == "noun"]
    names += [s.name for r in (*STYLES.values(), *OPTIMISE.values()) for s in r.steps]
    for name in names:
        if name not in ATTRIBUTES and name not in GLOBAL_PARAMS and name not in LOCAL_PARAMS:
            raise RuntimeError(f"instruction vocabulary names {name!r}, which is neither an attribute nor a slider")
    for key in {k for lex in LEX.values() for k in lex.keys} - {"corners"}:
        if key not in REGION_BY_KEY:
            raise RuntimeError(f"instruction vocabulary names an unknown region {key!r}")
    for a, b in LOCAL_EQUIVALENT.items():
        if canonical_name(b, LOCAL) != b:
            raise RuntimeError(f"local equivalent {a} -> {b} is not a local slider")


_check_vocabulary()


# -- reading clauses ------------------------------------------------------------------------------------------

@dataclass
class Clause:
    """One clause, read by word class. Lists keep the order of the words."""

    text: str
    joiner: str = ""  # the separator before it ("and", ",", "but"...; "" for the first)
    dirs: list[tuple[str, Lex]] = field(default_factory=list)
    nouns: list[tuple[str, Lex]] = field(default_factory=list)
    regions: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)  # (word, keys)
    persons: list[str] = field(default_factory=list)
    whole: bool = False  # "everything", "the photo"
    level: float | None = None
    number: Token | None = None
    neg: bool = False
    protect: bool = False
    keep: bool = False
    asis: bool = False
    except_: bool = False
    too: bool = False
    enough: bool = False
    set_: bool = False
    styles: list[str] = field(default_factory=list)
    optimise: list[tuple[str, Lex]] = field(default_factory=list)
    defects: list[tuple[str, Lex]] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    unknown_slot: list[str] = field(default_factory=list)  # unknown words where a region would be
    position: str | None = None
    ordinal: int | None = None
    pronoun: bool = False  # "it", "them": may point back at the region of the clause before
    statement: bool = False  # describes the photo ("it is a bit dark") rather than asking
    borrowed: bool = False
    lent: bool = False  # a later clause took its region ("the background is distracting, darken it")

    @property
    def has_action(self) -> bool:
        return bool(self.dirs or self.nouns or self.styles or self.optimise or self.defects or self.number)

    @property
    def has_target(self) -> bool:
        return bool(self.regions or self.persons or self.whole or self.unknown_slot)

    @property
    def negative(self) -> bool:
        return self.neg or self.keep or self.except_

    @property
    def content(self) -> bool:
        return self.has_action or self.has_target or self.negative or bool(self.unsupported or self.unknown)


# "it is a bit dark": a description of the photo, so the wish is the opposite; "make it dark" is a wish.
COPULAS = frozenset("is are was were looks look looking seems seem feels feel appears".split())
WISHES = frozenset("make makes should want wanted like need needs would could can please let get turn go "
                   "keep give".split())
DESCRIBING = frozenset("bright light dark dim warm cool cold blue yellow orange green magenta pink purple saturated "
                       "desaturated unsaturated vivid vibrant colourful colorful rich muted pale contrasty punchy "
                       "sharp crisp soft smooth".split())

SPLIT_BEFORE = frozenset({"without", "except", "not", "no", "never", "avoid", "keep", "leave"})


def split_clauses(tokens: list[Token]) -> list[tuple[str, list[Token]]]:
    """Split at separators, and before words that open a negative or protective clause."""
    out: list[tuple[str, list[Token]]] = []
    joiner, current = "", []
    for tok in tokens:
        if tok.kind == "sep":
            if current:
                out.append((joiner, current))
                current, joiner = [], tok.text
            elif tok.text.isalpha() or not joiner:
                joiner = tok.text  # ", and" joins with "and"
            continue
        if tok.text in SPLIT_BEFORE and current and any(t.kind not in ("filler", "neg") for t in current) \
                and current[-1].text not in ("not", "no", "and", "to") and not (
                tok.text == "not" and current[-1].kind in ("filler",) and current[-1].text in ("is", "are")):
            out.append((joiner, current))
            current, joiner = [], ""
        current.append(tok)
    if current:
        out.append((joiner, current))
    return out


def _combine_levels(current: float | None, new: float) -> float:
    """Two intensity words in a clause: the stronger of strong ones ("much, much"), the weaker of weak ones."""
    if current is None:
        return new
    return max(current, new) if new > PLAIN else min(current, new)


# Word classes that only switch a clause's flag on: token kind -> Clause attribute.
CLAUSE_FLAGS = {"neg": "neg", "protect": "protect", "keep": "keep", "asis": "asis", "except": "except_",
                "too": "too", "enough": "enough", "set": "set_"}


def read_clause(joiner: str, tokens: list[Token]) -> Clause:
    """Sort a clause's words by class."""
    text = " ".join(t.text for t in tokens)
    c = Clause(text if len(text) <= 120 else text[:117] + "...", joiner)
    prev = ""
    for tok in tokens:
        kind, lex = tok.kind, tok.lex
        if tok.text in ("it", "them", "those", "these"):
            c.pronoun = True
        if kind == "num":
            c.number = tok
        elif kind == "dir":
            c.dirs.append((tok.text, lex))
        elif kind == "noun":
            c.nouns.append((tok.text, lex))
        elif kind == "region":
            c.regions.append((tok.text, lex.keys))
        elif kind == "person":
            c.persons.append(tok.text)
        elif kind == "global":
            c.whole = True
        elif kind == "int":
            c.level = _combine_levels(c.level, lex.level)
        elif kind in CLAUSE_FLAGS:
            setattr(c, CLAUSE_FLAGS[kind], True)
        elif kind == "style":
            c.styles.append(lex.name)
        elif kind == "optimise":
            c.optimise.append((tok.text, lex))
        elif kind == "defect":
            c.defects.append((tok.text, lex))
        elif kind == "unsupported":
            c.unsupported.append(tok.text)
        elif kind == "pos":
            c.position = lex.name
        elif kind == "ord":
            c.ordinal = int(lex.level)
        elif kind == "unknown":
            c.unknown.append(tok.text)
            if prev in DETERMINERS or prev in PREPOSITIONS:
                c.unknown_slot.append(tok.text)
        prev = tok.text
    words = {t.text for t in tokens}
    c.statement = bool(words & COPULAS) and not words & WISHES
    if c.keep or c.protect or c.except_:
        c.asis = c.asis or "clean" in c.styles  # "keep the skin natural": natural means as it is
        if c.asis:
            c.styles = [s for s in c.styles if s != "clean"]
    if c.position and not c.persons and c.regions == []:
        c.unknown_slot.append(f"the {c.position}")  # "darken the left side": a side is not a region
    return c


def _inherit(clauses: list[Clause]) -> None:
    """Let clauses that name only a target, or only an action, borrow the missing half from a neighbour."""
    for prev, c in zip(clauses, clauses[1:]):
        if c.except_ and c.has_action and prev.has_target and not prev.has_action:
            # "everything except the faces should be darker": the action belongs to "everything"
            prev.dirs, prev.nouns, prev.number, prev.level = c.dirs, c.nouns, c.number, c.level
            prev.styles, prev.defects, prev.optimise = c.styles, c.defects, c.optimise
            c.dirs, c.nouns, c.number, c.level, c.styles, c.defects, c.optimise = [], [], None, None, [], [], []
    for i, c in enumerate(clauses):
        if c.negative or i == 0:
            continue
        prev = clauses[i - 1]
        plural = bool(set(c.persons) & {"them", "those", "these"})
        if c.pronoun and c.has_action and not c.regions and prev.regions and not prev.negative and (
                plural or not prev.has_action):
            # "the background is distracting, darken it"; "the faces look dark, brighten them"
            c.regions = list(prev.regions)
            c.persons = [p for p in c.persons if p not in ("them", "those", "these")]
            c.borrowed = prev.lent = True
            continue
        if prev.negative or not prev.has_action:
            continue
        if c.has_target and not c.has_action and c.joiner in ("and", ",", ";", "&", "plus", "also", ""):
            # "brighten the faces and the hair"
            c.dirs, c.nouns, c.number, c.level = list(prev.dirs), list(prev.nouns), prev.number, \
                c.level if c.level is not None else prev.level
            c.defects, c.styles = list(prev.defects), list(prev.styles)
            c.borrowed = True
        elif c.dirs and not c.nouns and not any(lex.default for _, lex in c.dirs) and prev.nouns:
            c.nouns = list(prev.nouns)  # "more contrast in the sky and less in the background"
            c.borrowed = True
        elif c.nouns and not c.dirs and c.number is None and prev.dirs and not c.too:
            c.dirs = list(prev.dirs)  # "more contrast and saturation"
            c.level = c.level if c.level is not None else prev.level
            c.borrowed = True
    for i in range(len(clauses) - 2, -1, -1):
        c, nxt = clauses[i], clauses[i + 1]
        if (nxt.joiner == "and" and not c.negative and not nxt.negative and c.dirs and not c.nouns
                and not c.has_target and nxt.has_target and nxt.has_action and not nxt.nouns):
            # "brighten and warm the faces", "warmer and brighter skin"
            c.regions, c.persons, c.whole = list(nxt.regions), list(nxt.persons), nxt.whole
            c.position, c.ordinal, c.unknown_slot = nxt.position, nxt.ordinal, list(nxt.unknown_slot)


# -- from clauses to edits ------------------------------------------------------------------------------------

REGION_WORDS_HELP = ("people (or one person: 'the man on the left'), faces, skin, hair, eyes, lips, teeth, "
                     "clothes, sky, background, buildings, trees, water, ground, or the whole photo")


def _sign(values: Iterable[int]) -> int:
    out = 1
    for v in values:
        out *= v
    return out


def _present_keys(regions_present: set[str] | None) -> tuple[set[str] | None, int | None]:
    """Region keys in the photo (aliases resolved) and the number of person instances named there."""
    if regions_present is None:
        return None, None
    keys: set[str] = set()
    persons = set()
    for name in regions_present:
        m = re.fullmatch(r"person[#:_ ]?(\d+)", str(name).strip().lower())
        if m:
            persons.add(int(m.group(1)))
            keys.add("person")
            continue
        try:
            keys.add(lookup_region(str(name)).key)
        except KeyError:
            keys.add(str(name))
    return keys, (len(persons) if persons else None)


class _Reader:
    """Turns clauses into an `Interpretation` for one photo (which regions it has, how many people)."""

    def __init__(self, text: str, regions_present: set[str] | None, people: int | None):
        self.interp = Interpretation(text)
        self.present, counted = _present_keys(regions_present)
        self.people = people if people is not None else counted
        self.classes: set[str] = set()
        self.by_clause: list[list[Edit]] = []

    # -- small helpers -------------------------------------------------------------------------------------
    def unmet(self, reason: str, text: str, message: str) -> None:
        if not any(u.reason == reason and u.text == text for u in self.interp.unmet):
            self.interp.unmet.append(Unmet(reason, text, message))

    def is_present(self, key: str) -> bool:
        if key in HUMAN_REGIONS and self.people == 0:
            return False
        if self.present is None:
            return True
        if key == "subject" and self.people:
            return True
        return key in self.present

    # -- targets -------------------------------------------------------------------------------------------
    def targets(self, c: Clause, *, protecting: bool = False) -> list[tuple[str, int | None]] | None:
        """(region or 'global', person) pairs a clause speaks about; None when none of them can be used."""
        if c.unknown_slot and not c.regions and not c.persons:
            word = c.unknown_slot[0]
            if not protecting:
                self.unmet("unknown_region", c.text, f"I can't select '{word}' in a photo, so '{c.text}' was not "
                                                     f"done; I can work on {REGION_WORDS_HELP}")
            return None
        words = list(c.regions)
        hint = bool(c.persons and (c.position or c.ordinal))
        if c.persons and not hint and not any(set(k) & HUMAN_REGIONS for _, k in words):
            words.append((c.persons[0], ("subject",)))
        out: list[tuple[str, int | None]] = []
        failed = False
        for word, keys in words:
            if keys == ("corners",):
                out.append(("corners", None))
                continue
            usable = []
            for key in keys:
                reg = REGION_BY_KEY[key]
                if not reg.writable:
                    if not protecting:
                        self.unmet("unsupported_region", c.text,
                                   f"Lightroom's '{reg.label.lower()}' mask cannot be written yet, so '{c.text}' "
                                   f"was not done")
                elif self.is_present(key):
                    usable.append(key)
            if not usable:
                failed = True
                if not protecting and all(REGION_BY_KEY[k].writable for k in keys):
                    label = " or ".join(REGION_BY_KEY[k].label.lower() for k in keys)
                    self.unmet("absent_region", c.text, f"there is no {label} in this photo, so '{c.text}' was "
                                                        f"not done")
            elif len(usable) < len(keys):
                missing = ", ".join(REGION_BY_KEY[k].label.lower() for k in keys if k not in usable)
                self.interp.notes.append(f"'{word}': no {missing} in this photo; the rest was used")
            out += [(k, None) for k in usable]
        if hint:
            chosen = self.person(c, protecting)
            if chosen is None:
                return None
            out.append(chosen)
        if not out:
            return None if (failed or hint) else [(GLOBAL_TARGET, None)]
        return list(dict.fromkeys(out))

    def person(self, c: Clause, protecting: bool) -> tuple[str, int | None] | None:
        """'the man on the left', 'the second person from the right' -> ('person', index), left to right."""
        what = " ".join(filter(None, [c.persons[0], {1: "first", 2: "second", 3: "third", 4: "fourth",
                                                      5: "fifth", -1: "last"}.get(c.ordinal or 0),
                                      c.position]))
        n = self.people
        if n is None:
            if not protecting:
                self.unmet("person_unresolved", c.text, f"the people in this photo were not counted, so '{what}' "
                                                        f"cannot be picked out; '{c.text}' was not done")
            return None
        if n == 1:
            self.interp.notes.append(f"there is one person in this photo, so '{what}' is the subject")
            return "subject", None
        k = c.ordinal or 1
        if c.ordinal == -1:
            index = n - 1 if c.position != "right" else 0
        elif c.position == "right":
            index = n - k
        elif c.position == "middle":
            if n % 2 == 0:
                if not protecting:
                    self.unmet("ambiguous", c.text, f"with {n} people there is no single person in the middle; "
                                                    f"'{c.text}' was not done")
                return None
            index = n // 2
        else:
            index = k - 1
        if not 0 <= index < n:
            if not protecting:
                self.unmet("absent_region", c.text, f"there are only {n} people in this photo, so '{c.text}' was "
                                                    f"not done")
            return None
        return "person", index

    # -- what a clause asks for ----------------------------------------------------------------------------
    def changes(self, c: Clause) -> list[tuple[str, int, str]] | None:
        """(attribute or slider, sign, word) the clause asks for; sign 0: take it from the number.
        None: nothing definite (the caller decides whether that is ambiguous)."""
        pure = [lex.sign for _, lex in c.dirs if not lex.default and lex.special in ("", "remove", "pop")]
        particles = [lex.sign for _, lex in c.dirs if lex.special == "particle"]
        defaults = [(w, lex) for w, lex in c.dirs if lex.default]
        special = {lex.special for _, lex in c.dirs} & {"recover", "deep"}
        if not pure and particles and not defaults:
            pure = particles
        if not pure and c.nouns and any(lex.sign for _, lex in c.optimise):
            pure = [1]  # "enhance the colours"
        sign = _sign(pure) if pure else None
        out: list[tuple[str, int, str]] = []
        if c.nouns:
            for word, noun in c.nouns:
                name = noun.name
                if sign is not None:
                    s = sign
                elif defaults:
                    s = _sign(lex.sign for _, lex in defaults)
                    for _, lex in defaults:  # "saturate the colours": the verb's own slider, of that family
                        if name in ATTRIBUTES and lex.default[0][0] != name and family(lex.default[0][0]) == name:
                            name = lex.default[0][0]
                elif "recover" in special:
                    s = {"Highlights2012": -1, "Whites2012": -1, "Shadows2012": 1, "Blacks2012": 1}.get(name, 0)
                    if not s:
                        return None
                elif "deep" in special:
                    s = -1 if family(name) in ("brightness", "Shadows2012", "Blacks2012") else 1
                elif c.too:
                    s = -1  # "too much contrast"
                elif c.level is not None and not c.neg:
                    s = 1  # "a touch of clarity", "with lots of contrast"
                elif c.number is not None:
                    out.append((name, 0, word))
                    continue
                elif c.defects:  # "the highlights are blown"
                    return [(n, s, w) for w, lex in c.defects for n, s in lex.default]
                else:
                    return None
                if c.too and (sign is not None or defaults):
                    s = -s
                out.append((name, s * noun.sign, word))
            return out
        if defaults:
            for word, lex in defaults:
                describes = c.statement and word in DESCRIBING and not c.enough
                for name, s in lex.default:
                    s = s * (sign if sign is not None else 1)
                    out.append((name, -s if c.too or describes else s, word))
            return out
        if "recover" in special:
            return [("Highlights2012", -1, "recover")]
        if "deep" in special:
            return [("colourfulness", 1, "deep")]
        if c.defects:
            return [(name, s, word) for word, lex in c.defects for name, s in lex.default]
        if c.number is not None and c.number.unit == "ev":
            return [("Exposure2012", 0, c.number.text)]
        return None

    def edit(self, c: Clause, target: tuple[str, int | None], name: str, sign: int, *, level: float | None = None,
             origin: str = STRONG) -> Edit | None:
        """One edit with its amount: intensity words, or the clause's number in its unit."""
        where, person = target
        scope = GLOBAL if where == GLOBAL_TARGET else LOCAL
        level = level if level is not None else (c.level if c.level is not None else PLAIN)
        num = c.number
        value = abs(num.value) if num is not None else None
        if num is not None and num.unit == "ev" and family(name) == "brightness":
            name = "Exposure2012"
        if num is not None and name == "contrast" and num.unit is None and value > 1:
            name = "Contrast2012"  # "contrast +15": slider units
        if sign == 0:
            sign = -1 if num is not None and num.value < 0 else 1
        if name in ATTRIBUTES:
            if num is None:
                amount = level
            elif num.unit == "%" or value > 1:
                amount = value / 100.0
            else:
                amount = value
            return Edit(where, sign * amount, attribute=name, person=person, origin=origin, source=c.text,
                        explicit=num is not None)
        slider = slider_for(name, scope)
        if slider is None:
            label = (GLOBAL_PARAMS.get(name) or LOCAL_PARAMS[name]).label.lower()
            self.unmet("unsupported", c.text, f"{label} applies to the whole photo and cannot be limited to "
                                              f"{where.replace('_', ' ')}; '{c.text}' was not done")
            return None
        unit = slider_unit(slider, scope)
        is_ev = (GLOBAL_PARAMS if scope == GLOBAL else LOCAL_PARAMS)[slider].unit == "EV"
        if num is None:
            amount = level * unit
        elif num.unit == "%":
            amount = abs(math.log2(1 + value / 100.0)) if is_ev else value / 100.0 * unit
        else:
            amount = value
        if c.set_ and num is not None:
            return Edit(where, num.value, param=slider, op="set", person=person, origin=origin, source=c.text,
                        explicit=True)
        return Edit(where, sign * amount, param=slider, person=person, origin=origin, source=c.text,
                    explicit=num is not None)

    def recipe(self, c: Clause, name: str, table: dict[str, Recipe], origin: str,
               targets: list[tuple[str, int | None]]) -> list[Edit]:
        """A style or optimisation recipe's edits at the clause's intensity, on the whole photo or, when the
        clause names one region, on that region ("make the background moody")."""
        regional = [t for t in targets if t[0] != GLOBAL_TARGET]
        for where, _ in regional:
            if (name, where) in REGION_STYLES:
                name, regional = REGION_STYLES[(name, where)], []
                break
        recipe = table[name]
        if recipe.needs:
            regional = []  # a recipe made for one region keeps its own targets ("soft skin" on "her face")
        label = name.replace("_", " ")
        if recipe.needs and not regional and not self.is_present(recipe.needs):
            self.unmet("absent_region", c.text, f"the '{label}' style needs {REGION_BY_KEY[recipe.needs].label.lower()}"
                                                f", and there is none in this photo; '{c.text}' was not done")
            return []
        factor = (c.level if c.level is not None else PLAIN) / PLAIN
        reverse = not c.nouns and _sign(
            lex.sign for _, lex in c.dirs if not lex.default and lex.special in ("", "particle")) < 0
        if reverse:
            factor = -factor  # "less moody": the recipe's relative steps backwards; absolute ones are skipped
            self.interp.notes.append(f"'{c.text}': the '{name.replace('_', ' ')}' recipe applied in reverse")
        edits = []
        for step in recipe.steps:
            if reverse and step.op == "set":
                continue
            places = [t for t in regional] if regional else [(step.target, None)]
            if regional and step.target != GLOBAL_TARGET:
                continue  # a region's version keeps only the recipe's overall edits
            for place in places:
                if place[0] not in (GLOBAL_TARGET, "person") and not self.is_present(place[0]):
                    if not step.optional:
                        self.interp.notes.append(f"'{label}': no {place[0].replace('_', ' ')} in this photo for "
                                                 f"its {step.name} step")
                    continue
                amount = step.amount * (factor if step.scales else 1.0)
                scope = GLOBAL if place[0] == GLOBAL_TARGET else LOCAL
                if step.name in ATTRIBUTES:
                    edits.append(Edit(place[0], amount, attribute=step.name, person=place[1], op=step.op,
                                      origin=origin, source=c.text))
                    continue
                slider = slider_for(step.name, scope)
                if slider is None:
                    continue  # e.g. no vignette on one region
                edits.append(Edit(place[0], amount, param=slider, person=place[1], op=step.op, origin=origin,
                                  source=c.text))
        where = " on " + ", ".join(t[0].replace("_", " ") for t in regional) if regional else ""
        self.interp.notes.append(f"'{label}'{where}: {recipe.description}")
        return edits

    # -- one clause ----------------------------------------------------------------------------------------
    def clause(self, c: Clause) -> None:
        edits: list[Edit] = []
        self.by_clause.append(edits)
        if not c.content or (c.lent and not c.has_action):
            return
        if c.negative and not (c.neg and c.enough):
            self.negative(c)
            return
        removing = any(lex.special == "remove" for _, lex in c.dirs) and not c.nouns and not any(
            lex.default for _, lex in c.dirs)
        adding = c.unknown_slot and not c.regions and not c.nouns and [w for w, _ in c.dirs] == ["add"]
        if c.unsupported or removing or adding:
            what = c.unsupported[0] if c.unsupported else "removing things" if removing else "adding things"
            self.unmet("unsupported", c.text, f"'{c.text}': {what} is not something develop settings can do")
            return
        asked = self.changes(c)
        if c.neg and c.enough:
            asked = [(n, s, w) for n, s, w in (asked or [])]  # "not bright enough": brighter
        style_words = list(c.styles)
        soft = any(lex.special == "soft" for _, lex in c.dirs)
        if soft and any("face_skin" in k for _, k in c.regions):
            style_words, asked = ["soft_skin"], None  # "soften the face": the soft-skin recipe
        pops = any(lex.special == "pop" for _, lex in c.dirs) and not c.nouns
        optimise = [lex.name for _, lex in c.optimise if not (lex.sign and c.nouns)]
        if pops:
            optimise, asked = ["pop"], None
        if asked is None and not style_words and not optimise:
            if c.dirs or c.nouns or c.number is not None:
                self.unmet("ambiguous", c.text, f"'{c.text}' does not say what to change or which way (for example "
                                                f"'brighter', 'more contrast', 'warmer', 'less saturation')")
            elif c.unknown:
                self.not_understood(c)
            return
        if optimise and not asked and not style_words and c.nouns:
            self.unmet("ambiguous", c.text, f"'{c.text}' does not say which way to go (for example 'warmer', "
                                            f"'cooler', 'more saturated', 'brighter')")
            return
        if optimise and not asked and not style_words and c.unknown and not c.unknown_slot:
            self.not_understood(c)  # "make it taste better"
            return
        targets = self.targets(c)
        if targets is None:
            self.classes.add(STRONG if asked else WEAK_STYLE if style_words else WEAK_OPTIMISE)
            return
        for name, sign, _word in asked or []:
            for target in targets:
                if target[0] == "corners":
                    if family(name) != "brightness":
                        self.unmet("unsupported", c.text, f"'{c.text}': the corners can only be made darker or "
                                                          f"brighter (a vignette)")
                        continue
                    name, target = "PostCropVignetteAmount", (GLOBAL_TARGET, None)
                edit = self.edit(c, target, name, sign)
                if edit is not None:
                    edits.append(edit)
        if asked:
            self.classes.add(STRONG)
        targets = [t for t in targets if t[0] != "corners"] or [(GLOBAL_TARGET, None)]
        for style in style_words:
            edits += self.recipe(c, style, STYLES, f"style:{style}", targets)
            self.classes.add(WEAK_STYLE)
        for name in dict.fromkeys(optimise):
            edits += self.recipe(c, name, OPTIMISE, f"optimise:{name}", targets)
            self.classes.add(WEAK_OPTIMISE)
        if c.unknown:
            self.interp.notes.append(f"in '{c.text}', these words were ignored: {', '.join(c.unknown)}")
        self.interp.edits += edits

    def negative(self, c: Clause) -> None:
        """Protection ("don't touch the sky", "except the sky", "leave the faces alone"), limits ("not too
        bright") and prohibitions ("no more saturation", "without brightening the sky")."""
        asked = self.changes(c) if (c.dirs or c.nouns or c.defects) else None
        if c.neg and c.defects and not c.dirs:
            # "without blowing out the highlights": do what prevents the defect, gently
            targets = self.targets(c) or []
            for name, sign, _ in [(n, s, w) for w, lex in c.defects for n, s in lex.default]:
                for target in targets:
                    edit = self.edit(c, target, name, sign, level=SLIGHT)
                    if edit is not None:
                        self.interp.edits.append(edit)
                        self.by_clause[-1].append(edit)
            self.classes.add(STRONG)
            return
        if c.too or (c.neg and c.level is not None and not asked and not c.has_target):
            self.limit(c, asked)
            return
        about_slider = bool(c.nouns or asked)
        if c.except_ or ((c.protect or c.asis or c.keep) and not about_slider) or (
                c.neg and not about_slider and c.has_target):
            targets = self.targets(c, protecting=True) or []
            regions = [region_key(*t) for t in targets if t[0] not in (GLOBAL_TARGET, "corners")]
            if not regions:
                if not targets and c.unknown_slot:
                    self.interp.notes.append(f"'{c.text}': there is nothing by that name to protect")
                elif not (c.regions or c.persons):
                    self.interp.notes.append(f"'{c.text}': nothing in particular to leave alone")
                elif not targets:
                    self.absent_here(c)
                return
            for key in regions:
                if key not in self.interp.protected:
                    self.interp.protected.append(key)
            return
        targets = self.held_targets(c)
        if c.keep and asked and not c.protect:
            for name, sign, _ in asked:  # "keep the faces bright": they must not get darker
                for where, who in targets:
                    self.interp.constraints.append(Constraint(region_key(where, who), family(name), -sign,
                                                              source=c.text))
            return
        if c.keep or c.protect or c.asis:
            for _, noun in c.nouns:  # "don't change the colours", "keep the colours natural"
                for where, who in targets:
                    self.interp.constraints.append(Constraint(region_key(where, who), family(noun.name), 0,
                                                              source=c.text))
            return
        if asked:
            for name, sign, _ in asked:
                for where, who in targets:
                    self.interp.constraints.append(Constraint(region_key(where, who), family(name), sign,
                                                              source=c.text))
            return
        if c.nouns:  # "no vignette", "no grain"
            for where, who in targets:
                for _, noun in c.nouns:
                    self.interp.constraints.append(Constraint(region_key(where, who), family(noun.name), 0,
                                                              source=c.text))
            return
        if c.unknown:
            self.not_understood(c)

    def limit(self, c: Clause, asked: list[tuple[str, int, str]] | None) -> None:
        """'not too bright': edits of that kind may stay, but gently; 'not too much': the last clause's."""
        targets = self.held_targets(c)
        if asked:
            for name, sign, _ in asked:
                for where, who in targets:
                    self.interp.constraints.append(Constraint(region_key(where, who), family(name),
                                                              -sign if c.too else sign, limit=True, source=c.text))
            return
        previous = next((edits for edits in reversed(self.by_clause[:-1]) if edits), [])
        for e in previous:
            self.interp.constraints.append(Constraint(region_key(e.target, e.person), e.family, e.direction,
                                                      limit=True, source=c.text))

    def held_targets(self, c: Clause) -> list[tuple[str, int | None]]:
        """Where a prohibition or a limit applies: the regions the clause names that this photo holds, or the
        whole photo when it names none. A named region the photo lacks leaves nothing to hold back there (it
        must not become the whole photo: "without brightening the sky" on a photo without sky still
        brightens it)."""
        targets = self.targets(c, protecting=True)
        if targets is None and (c.regions or c.persons):
            self.absent_here(c)
            return []
        return targets or [(GLOBAL_TARGET, None)]

    def absent_here(self, c: Clause) -> None:
        """A clause that protects or holds back a region this photo does not have: said, not widened."""
        if c.persons and (c.position or c.ordinal) and self.people is None:
            self.unmet("person_unresolved", c.text, f"the people in this photo were not counted, so which one "
                                                    f"'{c.text}' is about cannot be told")
            return
        what = " or ".join([w for w, _ in c.regions] + c.persons[:1])
        self.unmet("absent_region", c.text, f"this photo has no {what}, so '{c.text}' needs nothing held back")

    def not_understood(self, c: Clause) -> None:
        self.unmet("not_understood", c.text, f"I don't know how to '{c.text}'")

    # -- the whole instruction -----------------------------------------------------------------------------
    def settle(self) -> Interpretation:
        """Resolve conflicts: explicit requests win over recipes, opposite requests cancel, protected regions
        get no edits, prohibitions remove edits and limits cap them; then classify the instruction."""
        interp = self.interp
        edits = interp.edits
        strong = [e for e in edits if e.origin == STRONG]
        kept: list[Edit] = []
        for e in edits:
            if e.origin != STRONG and any(s.target == e.target and s.person == e.person and s.family == e.family
                                          for s in strong):
                interp.notes.append(f"{e.where} {e.name} from '{e.origin.split(':')[1].replace('_', ' ')}' left "
                                    f"out: the instruction asks for it explicitly")
                continue
            kept.append(e)
        edits = self.contradictions(self.merge(kept))
        edits = self.protect(edits)
        interp.edits = self.constrain(edits)
        if STRONG in self.classes:
            interp.kind = STRONG
        elif WEAK_STYLE in self.classes:
            interp.kind = WEAK_STYLE
        elif WEAK_OPTIMISE in self.classes:
            interp.kind = WEAK_OPTIMISE
        elif interp.protected or interp.constraints or any(
                u.reason in ("contradiction", "absent_region", "unknown_region", "unsupported_region",
                             "person_unresolved") for u in interp.unmet):
            interp.kind = STRONG
        return interp

    def merge(self, edits: list[Edit]) -> list[Edit]:
        """The same request said twice ("it is too bright, make it darker") is done once, the larger."""
        out: list[Edit] = []
        for e in edits:
            twin = next((o for o in out if (o.target, o.person, o.name, o.op, o.direction, o.origin)
                         == (e.target, e.person, e.name, e.op, e.direction, e.origin)), None)
            if twin is None:
                out.append(e)
            elif abs(e.amount) > abs(twin.amount):
                twin.amount, twin.explicit = e.amount, e.explicit
        return out

    def contradictions(self, edits: list[Edit]) -> list[Edit]:
        """Explicit requests that pull the same thing both ways on the same target cancel out: the same
        attribute or slider, or an attribute and its primary slider ("brighter" and "less exposure"). Two
        different sliders of one attribute do not ("more saturation, less vibrance")."""
        def clash(a: Edit, b: Edit) -> bool:
            if a.direction == b.direction or (a.target, a.person) != (b.target, b.person):
                return False
            if a.name == b.name:
                return True
            return (a.attribute is not None and b.family == a.attribute) or (
                b.attribute is not None and a.family == b.attribute)

        strong = [e for e in edits if e.origin == STRONG and e.op == "add" and e.direction]
        bad: set[int] = set()
        for i, a in enumerate(strong):
            for b in strong[i + 1:]:
                if clash(a, b):
                    bad |= {id(a), id(b)}
                    said = a.source if a.source == b.source else f"{a.source}' and '{b.source}"
                    where = "the whole photo" if a.target == GLOBAL_TARGET else a.where.replace("_", " ")
                    self.unmet("contradiction", said, f"'{said}' asks for {a.family} to go both up and down on "
                                                      f"{where}, so neither was done")
        return [e for e in edits if id(e) not in bad]

    def protect(self, edits: list[Edit]) -> list[Edit]:
        protected = set(self.interp.protected)
        out = []
        for e in edits:
            key = region_key(e.target, e.person)
            inside = key in protected or any(contains(p, e.target) for p in protected) or (
                e.target == "person" and "subject" in protected)
            if not inside:
                out.append(e)
            elif e.origin == STRONG and key not in protected:
                out.append(e)  # a part named explicitly: "darken everything but the people, brighten the faces"
                self.interp.notes.append(f"{e.where} is inside a region left alone, but was asked for explicitly")
            elif e.origin == STRONG:
                self.unmet("contradiction", e.source, f"'{e.source}' changes {e.target.replace('_', ' ')}, which "
                                                      f"the instruction also says to leave alone; it was not done")
            else:
                self.interp.notes.append(f"{e.where} {e.name} from '{e.origin.split(':')[1].replace('_', ' ')}' "
                                         f"left out: {e.target.replace('_', ' ')} is to be left alone")
        return out

    def constrain(self, edits: list[Edit]) -> list[Edit]:
        out = []
        for e in edits:
            keep = True
            for rule in self.interp.constraints:
                if rule.family != e.family or (rule.direction and rule.direction != e.direction):
                    continue
                if not (rule.target in (GLOBAL_TARGET, e.target, region_key(e.target, e.person))
                        or contains(rule.target, e.target)):
                    continue
                if rule.limit:
                    cap = SLIGHT if e.attribute else SLIGHT * slider_unit(e.param, e.scope)
                    if e.op == "add" and abs(e.amount) > cap:
                        self.interp.notes.append(f"{e.where} {e.name} kept gentle ('{rule.source}')")
                        e.amount = math.copysign(cap, e.amount)
                else:
                    keep = False
                    self.interp.notes.append(f"{e.where} {e.name} {'+' if e.direction > 0 else '-'} left out "
                                             f"('{rule.source}')")
                    break
            if keep:
                out.append(e)
        return out


def interpret(text: str, *, regions_present: set[str] | None = None, people: int | None = None) -> Interpretation:
    """Read a retouching instruction offline. `regions_present`: the regions found in the photo (None: not
    known, so all are assumed); `people`: how many people it shows (None: not known)."""
    text = text if isinstance(text, str) else ""
    reader = _Reader(text, regions_present, people)
    if not text.strip():
        reader.unmet("empty", "", "there is no instruction to follow")
        return reader.interp
    if len(text) > MAX_INSTRUCTION_CHARS:
        reader.interp.notes.append(f"only the first {MAX_INSTRUCTION_CHARS} characters of the instruction were read")
    tokens, corrections = tokenise(text[:MAX_INSTRUCTION_CHARS])
    reader.interp.corrections = corrections
    for typed, read in corrections.items():
        reader.interp.notes.append(f"read '{typed}' as '{read}'")
    clauses = [read_clause(joiner, toks) for joiner, toks in split_clauses(tokens)]
    _inherit(clauses)
    for c in clauses:
        reader.clause(c)
    interp = reader.settle()
    if not (interp.edits or interp.protected or interp.constraints or interp.unmet):
        reader.unmet("not_understood", text.strip(), f"I don't know how to '{text.strip()}'")
    if not interp.edits and (interp.protected or interp.constraints) and not interp.unmet:
        interp.notes.append("nothing to change; the instruction only says what to leave alone")
    return interp


# -- applying an interpretation to a plan ---------------------------------------------------------------------

def apply_interpretation(plan: RetouchPlan, interp: Interpretation, *, is_raw: bool,
                         as_shot: dict[str, float] | None = None) -> RetouchPlan:
    """A copy of `plan` with the interpretation's edits added, protected regions held where a global change
    (or a change on a region that covers them) would reach them, and a note for each change and for each
    thing that could not be done. `as_shot`: the raw file's as-shot Temperature/Tint, for raw white balance.
    """
    editor = PlanEditor(plan, is_raw=is_raw, as_shot=as_shot, stage="instruction")
    start = len(editor.changes)
    protected = set(interp.protected)
    quote = f"'{interp.text.strip()}'" if interp.text.strip() else "the instruction"
    for e in interp.edits:
        if region_key(e.target, e.person) in protected:
            editor._note(f"{e.where} is to be left alone; {e.describe()} was not applied", e.target)
            continue
        if e.target == "person" and e.person is None:
            editor._problem(f"{e.describe()}: which person is meant is not known", "person")
            continue
        if e.attribute:
            changes = editor.add_attribute(e.target, e.attribute, e.amount, person=e.person)
        else:
            change = editor.add_param(e.target, e.param, e.amount, person=e.person, op=e.op)
            changes = [change] if change is not None else []
        if changes:
            recipe = e.origin.split(":")[-1].replace("_", " ")
            why = "" if e.origin == STRONG or recipe in interp.text.lower() else f" ({recipe})"
            editor._note(f"{quote}{why}: {e.describe()} -> " + ", ".join(describe_change(c) for c in changes),
                         e.target)
    held = editor.hold([split_key(key) for key in interp.protected], since=start) if interp.protected else []
    for rule in interp.constraints:
        if rule.target == GLOBAL_TARGET or rule.limit or rule.target in protected:
            continue
        # "without brightening the sky": hold the sky against this instruction's sliders of that kind
        sliders = _family_sliders(rule.family)
        moved = [c for c in editor.changes[start:] if not c.held and c.param in sliders and (
            not rule.direction or (c.delta > 0) == (rule.direction * _slider_sign(c.param) > 0))]
        if moved:
            held += editor.hold([split_key(rule.target)], since=start, only=frozenset(c.param for c in moved))
    for key in dict.fromkeys(region_key(c.target, c.person) for c in held):
        editor._note(f"{_key_words(key)} held where this instruction's changes would reach it: "
                     + ", ".join(describe_change(c) for c in held if region_key(c.target, c.person) == key),
                     split_key(key)[0])
    for key in interp.protected:
        if not any(region_key(c.target, c.person) == key for c in held):
            editor._note(f"{_key_words(key)} left alone; nothing in this instruction reached it", split_key(key)[0])
    for note in interp.notes:
        editor._note(note)
    for u in interp.unmet:
        editor._note(f"not done: {u.message}")
    out = editor.result()
    out.provenance.setdefault("instructions", []).append(
        {"text": interp.text, "kind": interp.kind, "source": interp.source,
         "unmet": [u.reason for u in interp.unmet]})
    return out


def region_key(target: str, person: int | None = None) -> str:
    """A protected region's or a constraint's key: the region, or "person:N" for one person (the key of that
    person's mask), so that holding back "the man on the left" holds back that man only."""
    return f"person:{person}" if target == "person" and person is not None else target


def split_key(key: str) -> tuple[str, int | None]:
    """"person:N" -> ("person", N); any other key -> (key, None)."""
    head, sep, tail = key.partition(":")
    return (head, int(tail)) if head == "person" and sep and tail.isdigit() else (key, None)


def _key_words(key: str) -> str:
    target, person = split_key(key)
    return f"person#{person}" if person is not None else key.replace("_", " ")


def _family_sliders(fam: str) -> set[str]:
    """The sliders a family (an attribute, or one slider) can move, in either scope."""
    if fam in ATTRIBUTES:
        return {lv.param for raw in (True, False) for scope in (GLOBAL, LOCAL)
                for lv in levers(fam, scope, is_raw=raw)}
    return {fam} | ({LOCAL_EQUIVALENT[fam]} if fam in LOCAL_EQUIVALENT else set())


def _slider_sign(name: str) -> int:
    """-1 for sliders where a larger value means less of what people ask for (none of the levers)."""
    return -1 if name == "PostCropVignetteAmount" else 1


# -- the rethink loop -----------------------------------------------------------------------------------------

def unsatisfied(interp: Interpretation, before: dict[str, dict[str, float]], after: dict[str, dict[str, float]],
                *, tolerance: float = 0.5) -> list[Edit]:
    """Edits whose statistic did not move the intended way by more than `tolerance` between two renders.

    `before` and `after` map a region ("global", a region key, "person#N") to measured statistics
    (luminance, contrast, chroma, b*, a*). An edit whose region or statistic was not measured is not judged.
    PerTouch's rethink loop renders, calls this, and strengthens what fell short (at most three rounds).
    """
    out = []
    for e in interp.edits:
        stat = e.statistic
        if stat is None:
            continue
        try:
            moved = after[stat.region][stat.measure] - before[stat.region][stat.measure]
        except KeyError:
            continue
        if moved * stat.direction <= tolerance:
            out.append(e)
    return out


# -- readings from elsewhere (the language model) -------------------------------------------------------------

def settle_reading(text: str, kind: str, edits: list[Edit], *, protected: Iterable[str] = (),
                   unmet: Iterable[Unmet] = (), notes: Iterable[str] = (), regions_present: set[str] | None = None,
                   people: int | None = None, source: str = "offline") -> Interpretation:
    """An `Interpretation` from edits read by other means (already validated against the vocabulary),
    checked against this photo (regions present, people) and settled like an offline reading."""
    reader = _Reader(text, regions_present, people)
    reader.interp.source = source
    reader.interp.notes += list(notes)
    reader.interp.unmet += list(unmet)
    for key in protected:
        if key not in reader.interp.protected:
            reader.interp.protected.append(key)
    for e in edits:
        if e.target == GLOBAL_TARGET:
            reader.interp.edits.append(e)
            continue
        reg = REGION_BY_KEY[e.target]
        if not reg.writable:
            reader.unmet("unsupported_region", e.source or text, f"Lightroom's '{reg.label.lower()}' mask cannot be "
                                                                 f"written yet; {e.describe()} was not done")
        elif e.target == "person" and (e.person is None or reader.people is not None and e.person >= reader.people):
            reader.unmet("absent_region", e.source or text, f"there is no person #{e.person} in this photo; "
                                                            f"{e.describe()} was not done")
        elif e.target != "person" and not reader.is_present(e.target):
            reader.unmet("absent_region", e.source or text, f"there is no {reg.label.lower()} in this photo; "
                                                            f"{e.describe()} was not done")
        else:
            reader.interp.edits.append(e)
    reader.classes.add({WEAK_STYLE: WEAK_STYLE, WEAK_OPTIMISE: WEAK_OPTIMISE}.get(kind, STRONG))
    interp = reader.settle()
    if kind == UNKNOWN and not interp.edits and not interp.protected:
        interp.kind = UNKNOWN
    return interp
