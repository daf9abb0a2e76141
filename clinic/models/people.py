def full_name(last: str, first: str, middle: str) -> str:
    """Иванова Анна Петровна (the parts that are there)."""
    return " ".join(part for part in (last, first, middle) if part)


def short_name(last: str, first: str, middle: str) -> str:
    """Иванова А. П."""
    return last + "".join(f" {part[0]}." for part in (first, middle) if part)


class PersonName:
    """Russian full and short names for models with last, first and middle name fields
    (the functions above serve rows read without their model)."""

    last_name: str
    first_name: str
    middle_name: str

    @property
    def full_name(self) -> str:
        return full_name(self.last_name, self.first_name, self.middle_name)

    @property
    def short_name(self) -> str:
        return short_name(self.last_name, self.first_name, self.middle_name)
