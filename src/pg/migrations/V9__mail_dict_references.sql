-- postdesk's PostgreSQL schema, version 9: the dictionary a message's
-- mail is packed with exists for as long as the message names it, kept
-- by the database (src/pg/engine/dictionaries.rs).
-- Until now the re-pack after an erasure checked that in its own DELETE
-- (`NOT EXISTS`), which cannot see a row another node commits a moment
-- later: a node that had not yet loaded the new dictionary (it checks
-- every 10 s) could still write rows packed with the deleted one, and
-- nobody could read them again. With the key the database refuses the
-- delete while a row names the dictionary, and the row that names a
-- deleted one; that node then reopens its store, loading the dictionaries
-- again, and fetches the batch's mail anew.
-- No index on messages.dict: only a dictionary's delete looks rows up by
-- it, once per erasure.
ALTER TABLE messages ADD CONSTRAINT messages_dict_fkey
    FOREIGN KEY (dict) REFERENCES mail_dicts (id);
