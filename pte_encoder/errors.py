"""The one exception pte_encoder raises for bad input."""


class EncodeError(ValueError):
    """The program or an option cannot be encoded.

    The message names the place (for example
    ``execution_plan[0].values[12].val.sizes[1]``), the value found and what
    was expected there.
    """
