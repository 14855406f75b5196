-- Finding 13 (cross-organization email enumeration): an email is unique within an organization, not
-- across all of them, so adding a user never tells an owner that the address exists elsewhere. Login
-- looks users up by email (index below) and checks the password of each account with that email.
DROP INDEX "User_email_key";
CREATE UNIQUE INDEX "User_orgId_email_key" ON "User"("orgId", "email");
CREATE INDEX "User_email_idx" ON "User"("email");
