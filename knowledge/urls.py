from django.urls import path

from knowledge import views as v

urlpatterns = [
    path("", v.ListView.as_view()),
    path("create", v.CreateView.as_view()),
    path("<uuid:kb_id>", v.DetailView.as_view()),
    path("<uuid:kb_id>/files", v.FilesView.as_view()),
    path("<uuid:kb_id>/update", v.UpdateView.as_view()),
    path("<uuid:kb_id>/access/update", v.AccessUpdateView.as_view()),
    path("<uuid:kb_id>/file/add", v.FileAddView.as_view()),
    path("<uuid:kb_id>/files/batch/add", v.BatchAddView.as_view()),
    path("<uuid:kb_id>/file/update", v.FileUpdateView.as_view()),
    path("<uuid:kb_id>/file/remove", v.FileRemoveView.as_view()),
    path("<uuid:kb_id>/reset", v.ResetView.as_view()),
    path("<uuid:kb_id>/delete", v.DeleteView.as_view()),
]
