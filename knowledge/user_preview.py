"""GET /api/v1/users/{id}/preview (admin): what a user reaches, its own and through its groups and
grants. Here, not in accounts, since it reads the models and knowledge apps too."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors
from accounts.permissions import IsAdmin
from accounts.user_views import target_user
from knowledge import selectors as knowledge_selectors
from models_registry import selectors as model_selectors


class UserPreviewView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, user_id):
        user = target_user(user_id)
        def models(of):
            return model_selectors.readable_models(of).filter(is_active=True).values_list("id", "name")

        def knowledge(of):
            return knowledge_selectors.readable(of).values_list("id", "name")

        return Response({
            "user": {"id": str(user.id), "name": user.name},
            "groups": [{"id": str(g.id), "name": g.name} for g in selectors.groups(member=user)],
            # Out of what the admin asking sees (everything, unless admins are held to access control).
            "models": {"items": [{"id": i, "name": n} for i, n in models(user)], "total": models(request.user).count()},
            "knowledge": {"items": [{"id": str(i), "name": n} for i, n in knowledge(user)],
                          "total": knowledge(request.user).count()},
            "tools": {"items": [], "total": 0},
        })
