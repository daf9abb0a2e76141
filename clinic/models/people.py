class PersonName:
    """Russian full and short names for models with last, first and middle name fields."""

    last_name: str
    first_name: str
    middle_name: str

    @property
    def full_name(self) -> str:
        return " ".join(
            part for part in (self.last_name, self.first_name, self.middle_name) if part
        )

    @property
    def short_name(self) -> str:
        """Иванова А. П."""
        initials = "".join(f" {part[0]}." for part in (self.first_name, self.middle_name) if part)
        return f"{self.last_name}{initials}"
