from django.http import FileResponse, Http404

from clinic import files
from clinic.permissions import AuthedRequest, login_required_view


@login_required_view
def file_download(request: AuthedRequest, kind: str, pk: int) -> FileResponse:
    """An uploaded file, through its object: the kind's right and the object's scope decide
    (``clinic.files``); there is no other way to a stored file."""
    file_kind = files.get_kind(kind)
    if file_kind is None:
        raise Http404
    obj = files.object_for_user(file_kind, request.user, pk)
    return files.file_response(file_kind, obj, request)
