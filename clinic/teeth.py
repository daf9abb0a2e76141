"""FDI tooth numbering: which teeth exist, which a dentition shows, their jaws and surfaces.

A tooth is a two-digit number: the quadrant (1-4 permanent, 5-8 primary; 1 and 5 upper right,
clockwise as the doctor faces the patient) and the position from the midline (1-8 permanent,
1-5 primary). Positions 1-3 (incisors, canine) are front teeth with an incisal edge; the
others are back teeth with an occlusal surface.
"""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy


class Dentition(models.TextChoices):
    # A context of their own: "Primary" is also a patient's first visit.
    PERMANENT = "permanent", pgettext_lazy("dentition", "Permanent")
    PRIMARY = "primary", pgettext_lazy("dentition", "Primary")
    MIXED = "mixed", pgettext_lazy("dentition", "Mixed")


class Jaw(models.TextChoices):
    UPPER = "upper", gettext_lazy("Upper jaw")
    LOWER = "lower", gettext_lazy("Lower jaw")


class Surface(models.TextChoices):
    MESIAL = "M", gettext_lazy("mesial")
    DISTAL = "D", gettext_lazy("distal")
    OCCLUSAL = "O", gettext_lazy("occlusal")
    INCISAL = "I", gettext_lazy("incisal")
    VESTIBULAR = "V", gettext_lazy("vestibular")
    LINGUAL = "L", gettext_lazy("lingual/palatal")
    CERVICAL = "C", gettext_lazy("cervical")


PERMANENT_QUADRANTS = (1, 2, 3, 4)
PRIMARY_QUADRANTS = (5, 6, 7, 8)
UPPER_QUADRANTS = (1, 2, 5, 6)
FRONT_POSITIONS = (1, 2, 3)


def _teeth(quadrants: Iterable[int], positions: int) -> tuple[int, ...]:
    return tuple(q * 10 + p for q in quadrants for p in range(1, positions + 1))


PERMANENT_TEETH = _teeth(PERMANENT_QUADRANTS, 8)
PRIMARY_TEETH = _teeth(PRIMARY_QUADRANTS, 5)
ALL_TEETH = frozenset(PERMANENT_TEETH + PRIMARY_TEETH)
MAX_TOOTH = 85

DENTITION_TEETH: dict[str, frozenset[int]] = {
    Dentition.PERMANENT: frozenset(PERMANENT_TEETH),
    Dentition.PRIMARY: frozenset(PRIMARY_TEETH),
    # A child's mouth in change: the chart offers both sets, the doctor marks what is there.
    Dentition.MIXED: ALL_TEETH,
}


def exists(tooth: int) -> bool:
    return tooth in ALL_TEETH


def is_primary(tooth: int) -> bool:
    return tooth // 10 in PRIMARY_QUADRANTS


def jaw_of(tooth: int) -> str:
    return Jaw.UPPER if tooth // 10 in UPPER_QUADRANTS else Jaw.LOWER


def is_front(tooth: int) -> bool:
    return tooth % 10 in FRONT_POSITIONS


def surfaces_of(tooth: int) -> tuple[str, ...]:
    """The surfaces a tooth has: an incisal edge for front teeth, an occlusal one for back."""
    chewing = Surface.INCISAL if is_front(tooth) else Surface.OCCLUSAL
    return (
        Surface.MESIAL,
        Surface.DISTAL,
        chewing,
        Surface.VESTIBULAR,
        Surface.LINGUAL,
        Surface.CERVICAL,
    )


def rows(dentition: str) -> list[list[list[int]]]:
    """The chart's rows as the doctor sees the mouth: for each jaw shown, the patient's right
    half then the left half (18..11 | 21..28 over 48..41 | 31..38)."""

    def half(quadrant: int, positions: int) -> list[int]:
        teeth = [quadrant * 10 + p for p in range(1, positions + 1)]
        return teeth[::-1] if quadrant in (1, 4, 5, 8) else teeth

    permanent = [[half(1, 8), half(2, 8)], [half(4, 8), half(3, 8)]]
    primary = [[half(5, 5), half(6, 5)], [half(8, 5), half(7, 5)]]
    if dentition == Dentition.PRIMARY:
        return primary
    if dentition == Dentition.MIXED:
        return [permanent[0], primary[0], primary[1], permanent[1]]
    return permanent


def validate_teeth(teeth: Iterable[int], dentition: str | None = None) -> list[int]:
    """The teeth, sorted and without repeats; a ``ValidationError`` naming the first tooth that
    does not exist or does not belong to the dentition."""
    chosen = sorted(set(teeth))
    if not chosen:
        raise ValidationError(_("Select at least one tooth."), code="no_teeth")
    for tooth in chosen:
        if not exists(tooth):
            raise ValidationError(
                _("There is no tooth %(tooth)s in the FDI numbering.") % {"tooth": tooth},
                code="no_such_tooth",
            )
    if dentition is not None:
        if dentition not in DENTITION_TEETH:
            raise ValidationError(_("Unknown dentition."), code="no_such_dentition")
        for tooth in chosen:
            if tooth not in DENTITION_TEETH[dentition]:
                raise ValidationError(
                    _("Tooth %(tooth)s is not in the %(dentition)s dentition.")
                    % {"tooth": tooth, "dentition": Dentition(dentition).label.lower()},
                    code="not_in_dentition",
                )
    return chosen


def validate_surfaces(tooth: int, surfaces: Iterable[str]) -> str:
    """The surfaces as a code string in the chart's order ("MOD"); a ``ValidationError`` for
    a surface the tooth has not (an occlusal surface of an incisor)."""
    wanted = set(surfaces)
    own = surfaces_of(tooth)
    for surface in wanted:
        if surface not in Surface.values:
            raise ValidationError(_("Unknown surface."), code="no_such_surface")
        if surface not in own:
            raise ValidationError(
                _("Tooth %(tooth)s has no %(surface)s surface.")
                % {"tooth": tooth, "surface": Surface(surface).label},
                code="surface_not_on_tooth",
            )
    return "".join(s for s in Surface.values if s in wanted)


TEETH_TEXT_MAX = 200


def parse_teeth(text: str) -> list[int]:
    """Teeth typed as FDI numbers separated by commas or spaces ("36, 46"): checked and
    sorted; an empty text is no teeth. A ``ValidationError`` says what is wrong."""
    if len(text) > TEETH_TEXT_MAX:
        raise ValidationError(_("Too many teeth listed."), code="teeth_text")
    words = text.replace(",", " ").replace(";", " ").split()
    if not words:
        return []
    if not all(word.isascii() and word.isdigit() and len(word) <= 2 for word in words):
        raise ValidationError(
            _("Teeth are FDI numbers separated by commas, like 36, 46."), code="teeth_text"
        )
    return validate_teeth(int(word) for word in words)
