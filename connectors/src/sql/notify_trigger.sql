-- Wakes dhub's `sql` source at once when a case table changes (Postgres 11 or later).
--
-- Install it in the department's database, once per table the hub reads, with the channel named
-- by the source's `notify` key (here `dhub_cases`, table `enforcement_cases`). The notification
-- carries no row data: it only tells the hub to read by its cursor now instead of at the next
-- poll. One notification per statement (not per row), sent when the transaction commits;
-- notifications of one transaction on the same channel are merged by Postgres.
--
-- The hub's database user needs no rights for this beyond CONNECT (LISTEN needs none) and SELECT
-- on the table.

CREATE OR REPLACE FUNCTION dhub_notify_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- TG_ARGV[0] is the channel given in CREATE TRIGGER below.
    PERFORM pg_notify(TG_ARGV[0], TG_TABLE_NAME);
    RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS dhub_notify_change ON enforcement_cases;
CREATE TRIGGER dhub_notify_change
    AFTER INSERT OR UPDATE ON enforcement_cases
    FOR EACH STATEMENT
    EXECUTE FUNCTION dhub_notify_change('dhub_cases');
