// Every section, in navigation order. A section module registers itself when imported.
import './inbox.js';
import './contacts.js';
import './flows.js';
import './broadcasts.js';
import './settings.js';
