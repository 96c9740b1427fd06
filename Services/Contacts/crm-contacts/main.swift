import ContactsService
import ServiceKit

// `crm-contacts`: serve (the default), `rebuild` and `dump`, configured by CRM_* environment
// variables. The service itself (name, port, store, projection, routes, settings) is
// `ContactsService`, which the tests run too.
await ServiceCommand<ContactsService>.execute()
