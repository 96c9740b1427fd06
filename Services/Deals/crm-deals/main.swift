import DealsService
import ServiceKit

await ServiceCommand<DealsService>.execute()
