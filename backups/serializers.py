"""OpenAPI shapes of the backup document and of a restore's request and result.

The document's shape comes from its declaration (`document.DOCUMENT`): each section's
component is built from the section's fields, so the schema cannot drift from what an
export writes and a restore reads. These serializers only describe the document (it is
read by `document.parse_backup`) and read the small multipart form.
"""

from __future__ import annotations

from rest_framework import serializers

from .document import DOCUMENT, FORMAT, VERSION
from .fields import inline_choice
from .services import MODES, RESULT_SECTIONS


class BackupDocumentSerializer(serializers.Serializer):
    """Everything one user owns. Sections other than `user` may be omitted (empty)."""

    format = serializers.CharField(help_text=f"Always `{FORMAT}`.")
    version = serializers.IntegerField(help_text=f"Format version; this server writes {VERSION}.")
    exported_at = serializers.DateTimeField(required=False)

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        for section in DOCUMENT:
            fields[section.name] = section.schema_field()
        return fields


class BackupUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="A backup document (JSON), as exported.")
    mode = inline_choice(
        choices=[(mode, mode) for mode in MODES],
        required=False,
        help_text="`merge` (default) adds to your data; `replace` deletes it first.",
    )


class BackupSectionCountsSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    skipped = serializers.IntegerField(
        help_text="Matched something already there (merge): reused or not added again."
    )
    deleted = serializers.IntegerField(help_text="Removed first (replace mode).")


class BackupRestoreSectionsSerializer(serializers.Serializer):
    def get_fields(self) -> dict[str, serializers.Field]:
        return {name: BackupSectionCountsSerializer() for name in RESULT_SECTIONS}


class BackupRestoreResultSerializer(serializers.Serializer):
    mode = inline_choice(choices=[(mode, mode) for mode in MODES])
    settings_applied = serializers.BooleanField(
        help_text="Whether the backup's settings and notification preferences were applied "
        "(replace mode only)."
    )
    sections = BackupRestoreSectionsSerializer()
