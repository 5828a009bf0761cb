import os
import socket

from django.http import HttpResponse, JsonResponse


def health(request):
    """What the ALB target groups check, through nginx: the whole request path works."""
    return HttpResponse("ok\n", content_type="text/plain")


def index(request):
    return JsonResponse({
        "app": "ecs-bluegreen sample",
        "host": socket.gethostname(),
        "version": os.environ.get("APP_VERSION", "dev"),
    })
