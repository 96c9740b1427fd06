import SchedulerService
import ServiceKit

await ServiceCommand<SchedulerService>.execute()
