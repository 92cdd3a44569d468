-- 0005 audit retention: inside a trigger CURRENT_USER() names the
-- trigger's definer, not the session; USER() is the account that logged
-- in.  Only rtrw_maint may delete, and only rows past 365 days.
DROP TRIGGER IF EXISTS tr_audit_logs_no_delete;

CREATE TRIGGER tr_audit_logs_no_delete BEFORE DELETE ON audit_logs
FOR EACH ROW
BEGIN
	IF OLD.created_at > UTC_TIMESTAMP(6) - INTERVAL 365 DAY
	   OR SUBSTRING_INDEX(USER(), '@', 1) <> 'rtrw_maint' THEN
		SIGNAL SQLSTATE '45000'
			SET MESSAGE_TEXT = 'audit_logs rows younger than 365 days cannot be deleted, and only by rtrw_maint';
	END IF;
END;
