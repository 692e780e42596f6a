-- Puts a staged copy in place: switchyard_load.<table> (loaded by
-- legacy-table.load) replaces public.<table>, the copy switchyard reads
-- (public is its [legacy] schema), in one transaction, so readers of the old
-- copy never see a missing or half-loaded table, and a failure leaves the old
-- copy as it was.
--
--   psql "$SUPABASE_URL" -v ON_ERROR_STOP=1 -v table=customers -f scripts/pgloader/swap.sql
--
-- The grants of the copy it replaces carry over (the new table is owned by the
-- role that ran pgloader). A view or a foreign key on the old copy stops the
-- swap: nothing is dropped with CASCADE. Policies and triggers on the old copy
-- go with it.
\set QUIET on
SELECT set_config('switchyard.swap_table', :'table', false) \gset
DO $swap$
DECLARE
  t text := current_setting('switchyard.swap_table');
  staged regclass := to_regclass(format('switchyard_load.%I', t));
  old regclass := to_regclass(format('public.%I', t));
  acl aclitem[];
  g record;
BEGIN
  IF staged IS NULL THEN
    RAISE EXCEPTION 'switchyard_load.% was not loaded: public.% is left as it was', t, t;
  END IF;
  IF old IS NOT NULL THEN
    SELECT relacl INTO acl FROM pg_class WHERE oid = old;
    EXECUTE format('DROP TABLE %s', old);
  END IF;
  EXECUTE format('ALTER TABLE %s SET SCHEMA public', staged);
  FOR g IN SELECT a.privilege_type, a.grantee FROM aclexplode(acl) AS a
            WHERE a.grantee <> (SELECT relowner FROM pg_class WHERE oid = staged)
  LOOP
    EXECUTE format('GRANT %s ON public.%I TO %s', g.privilege_type, t,
                   CASE WHEN g.grantee = 0 THEN 'PUBLIC'
                        ELSE quote_ident(pg_get_userbyid(g.grantee)) END);
  END LOOP;
  RAISE NOTICE 'public.% replaced by the copy loaded into switchyard_load', t;
END
$swap$;
ANALYZE public.:"table";
