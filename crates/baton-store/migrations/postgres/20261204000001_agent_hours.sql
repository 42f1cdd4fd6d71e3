-- Routing reads an agent's working hours beside their capacity and skills:
-- a weekly schedule as text (`mon-fri 09:00-17:00 Europe/Berlin`), checked
-- by the engine when it is set. NULL means whenever the agent is online.
ALTER TABLE agents ADD COLUMN working_hours TEXT;
