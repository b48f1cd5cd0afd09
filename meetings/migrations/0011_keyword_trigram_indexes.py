"""PostgreSQL: keyword search (`q`, meetings/keywords.py) through trigram indexes.

A word was checked row by row, `unaccent(column) ILIKE '%word%'` on six
columns of each meeting and its venue: ~300-500 ms for one word at 100,000
meetings (bench/README.md, round 15). Now the folded text of a meeting
(name, group, notes) and of a venue (name, address, city) each has a GIN
trigram index (pg_trgm), and a word of three characters or more is looked up
there once per search. `mf_fold` is the folding both sides of the match use:
lower-cased, unaccented, and IMMUTABLE so that an index may hold it (the
unaccent function itself is only STABLE: its dictionary could change; it is
named here with its schema, so the index never depends on a search_path).
SQLite registers its own MF_FOLD (meetings/keywords.py).
"""

from django.db import migrations

INDEXES = {
    "meeting_text_trgm": ("meetings_meeting", "\"name\" || ' ' || \"group\" || ' ' || \"notes\""),
    "location_text_trgm": ("meetings_location", "\"name\" || ' ' || \"formatted_address\" || ' ' || \"city\""),
}


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # Trusted extensions shipped with PostgreSQL: the database owner may create them.
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'unaccent'")
        schema = cursor.fetchone()[0]
    # PL/pgSQL, not SQL: a SQL function whose body is not immutable is never
    # inlined, and its executor cost ~1.8x the body per row (a word too short
    # for the trigram index is checked row by row); PL/pgSQL ~1.3x.
    schema_editor.execute(
        "CREATE OR REPLACE FUNCTION mf_fold(text) RETURNS text LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE"
        f" AS $$ BEGIN RETURN lower({schema}.unaccent('{schema}.unaccent'::regdictionary, $1)); END $$")
    for name, (table, text) in INDEXES.items():
        build_concurrently(schema_editor, name, f"{table} USING gin (mf_fold({text}) gin_trgm_ops)")


def build_concurrently(schema_editor, name: str, definition: str) -> None:
    """CREATE INDEX name ON definition, concurrently: a large directory keeps
    taking writes (imports, curators) while it builds. A concurrent build that
    failed leaves its index invalid (never used, still written): IF NOT
    EXISTS would keep it, so it is built anew. The web's statement timeout
    (settings.py) does not bound a build: at 100,000 meetings one outlasted
    it, and a cancelled build is an invalid index."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        timeout = cursor.fetchone()[0]
        cursor.execute("SELECT NOT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)", [name])
        invalid = cursor.fetchone()
    schema_editor.execute("SET statement_timeout = 0")
    try:
        if invalid and invalid[0]:
            schema_editor.execute(f"DROP INDEX CONCURRENTLY {name}")
        schema_editor.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {definition}")
    finally:
        schema_editor.execute("SELECT set_config('statement_timeout', %s, false)", [timeout])


def concurrent_index(index, *, model: str, definition: str, after: str = ""):
    """The operation adding `model`'s `index` (0021, 0031): built concurrently
    on PostgreSQL (`build_concurrently` with `definition`, then the SQL
    `after`, such as an ANALYZE), by Django's schema editor elsewhere; the
    migration holding it is not atomic."""

    def forward(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            build_concurrently(schema_editor, index.name, definition)
            if after:
                schema_editor.execute(after)
        else:
            schema_editor.add_index(apps.get_model("meetings", model), index)

    def backward(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {index.name}")
        else:
            schema_editor.remove_index(apps.get_model("meetings", model), index)

    return migrations.SeparateDatabaseAndState(database_operations=[migrations.RunPython(forward, backward)],
                                               state_operations=[migrations.AddIndex(model.lower(), index)])


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
    schema_editor.execute("DROP FUNCTION IF EXISTS mf_fold(text)")


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY runs outside a transaction.
    atomic = False
    dependencies = [("meetings", "0010_translatable_labels")]

    operations = [migrations.RunPython(forward, backward)]
