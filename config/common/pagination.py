from rest_framework.exceptions import ValidationError

MAX_PAGE = 1_000_000


def page_slice(request, *, per_page: int) -> slice:
    """The slice for the 1-based `page` query parameter."""
    raw = request.query_params.get("page", "1") or "1"
    try:
        page = int(raw)
    except ValueError:
        raise ValidationError("page must be a positive integer")
    if page < 1:
        raise ValidationError("page must be a positive integer")
    if page > MAX_PAGE:  # far past any data; a larger offset could overflow Postgres' bigint
        raise ValidationError(f"page must be at most {MAX_PAGE}")
    start = (page - 1) * per_page
    return slice(start, start + per_page)
