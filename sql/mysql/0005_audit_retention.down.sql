-- Reverts 0005: back to the 0002 trigger.
DROP TRIGGER IF EXISTS tr_audit_logs_no_delete;

CREATE TRIGGER tr_audit_logs_no_delete BEFORE DELETE ON audit_logs
FOR EACH ROW
BEGIN
	IF OLD.created_at > UTC_TIMESTAMP(6) - INTERVAL 365 DAY
	   OR SUBSTRING_INDEX(CURRENT_USER(), '@', 1) <> 'rtrw_maint' THEN
		SIGNAL SQLSTATE '45000'
			SET MESSAGE_TEXT = 'audit_logs rows younger than 365 days cannot be deleted, and only by rtrw_maint';
	END IF;
END;
