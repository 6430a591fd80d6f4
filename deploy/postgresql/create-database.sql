-- Run once as the postgres superuser: `psql -v password="'…'" -f create-database.sql`.
-- The application's role owns its database and nothing else; migrations run as it.
CREATE ROLE linkage LOGIN PASSWORD :password;
CREATE DATABASE linkage OWNER linkage ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8' TEMPLATE template0;
\connect linkage
-- pg_trgm: the trigram indexes of the name and address search. It is a trusted extension,
-- so migration 0006 can create it as the owner; made here once, before the first migrate.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT ALL ON SCHEMA public TO linkage;
