from celery import shared_task

from pricelist import services


@shared_task(ignore_result=True)
def base_prices_catch_up() -> int:
    """Nightly, just after midnight in Moscow: ``Service.price`` catches up with the base
    prices that came into effect today."""
    return services.base_prices_caught_up()
