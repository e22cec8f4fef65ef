"""/api/v1/usage/limits and /api/v1/usage/prices: the admin manages limits and model prices (the same
rows as the Django admin's)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import limit_services as services
from accounts import limits
from accounts import usage_selectors as selectors
from accounts.permissions import IsAdmin
from accounts.usage_serializers import LimitIn, LimitQueryIn, PriceIn, limit_out, price_out
from config import runtime
from config.common.errors import ApplicationError
from config.common.exceptions import validated

LIMIT_NOT_FOUND = "Limit not found"
PRICE_NOT_FOUND = "No price is set for this model"


def _limit(limit_id):
    found = selectors.usage_limit(limit_id)
    if found is None:
        raise ApplicationError(404, LIMIT_NOT_FOUND)
    return found


class LimitListView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(parameters=[LimitQueryIn], responses=OpenApiTypes.OBJECT)
    def get(self, request):
        query = validated(LimitQueryIn, request.query_params.dict(), status=400)
        return Response([limit_out(row) for row in selectors.usage_limits(**query)])

    @extend_schema(request=LimitIn, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        row = services.create_limit(data=validated(LimitIn, request.data, status=400))
        return Response(limit_out(row))


class LimitStatusView(APIView):
    """Each limit's counters now: what is used of it and left, and when it resets."""

    permission_classes = [IsAdmin]

    @extend_schema(parameters=[LimitQueryIn], responses=OpenApiTypes.OBJECT)
    def get(self, request):
        query = validated(LimitQueryIn, request.query_params.dict(), status=400)
        rows = list(selectors.usage_limits(**query))
        found = limits.status(rows, runtime.get("USAGE_TIME_ZONE"))
        return Response([{**limit_out(row), "counters": items} for row, items in zip(rows, found, strict=True)])


class LimitDetailView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, limit_id):
        return Response(limit_out(_limit(limit_id)))

    @extend_schema(request=LimitIn, responses=OpenApiTypes.OBJECT)
    def post(self, request, limit_id):
        row = _limit(limit_id)
        data = validated(LimitIn, request.data, status=400, partial=True)
        return Response(limit_out(services.update_limit(row=row, data=data)))

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def delete(self, request, limit_id):
        services.delete_limit(row=_limit(limit_id))
        return Response(True)


class PriceListView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return Response([price_out(row) for row in selectors.prices()])

    @extend_schema(request=PriceIn, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        return Response(price_out(services.set_price(data=validated(PriceIn, request.data, status=400))))


class PriceDetailView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def delete(self, request, model):
        found = selectors.price(model)
        if found is None:
            raise ApplicationError(404, PRICE_NOT_FOUND)
        services.delete_price(row=found)
        return Response(True)
