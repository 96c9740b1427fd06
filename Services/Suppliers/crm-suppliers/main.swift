import ServiceKit
import SuppliersService

await ServiceCommand<SuppliersService>.execute()
