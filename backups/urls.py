from django.urls import path

from .views import BackupExportView, BackupRestoreView

routes: list = []
urlpatterns = [
    path("export/backup.json", BackupExportView.as_view(), name="backup-export"),
    path("import/backup/", BackupRestoreView.as_view(), name="backup-restore"),
]
