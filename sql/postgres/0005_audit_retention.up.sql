-- 0005 audit retention: PostgreSQL's trigger already uses session_user
-- semantics through current_user in a SECURITY INVOKER function; this
-- migration keeps the version numbers of both dialects aligned and makes
-- the check explicit about the session account.
CREATE OR REPLACE FUNCTION rtrw_audit_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'UPDATE' THEN
		RAISE EXCEPTION 'audit_logs rows cannot be changed';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM tenants WHERE id = OLD.tenant_id) THEN
		RETURN OLD;
	END IF;
	IF OLD.created_at > now() - interval '365 days'
	   OR session_user <> 'rtrw_maint' THEN
		RAISE EXCEPTION 'audit_logs rows younger than 365 days cannot be deleted, and only by rtrw_maint';
	END IF;
	RETURN OLD;
END;
$$;
