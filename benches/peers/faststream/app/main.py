"""The seed order service of tidings (examples/order-producer + order-fulfilment's
`accept`) written with FastStream 0.7.8, for the benchmarks in tidings'
docs/benchmarks.md. `faststream docs gen app.main:app --yaml` prints its document.
"""
from datetime import datetime, timezone
from decimal import Decimal

from faststream import FastStream
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from pydantic import BaseModel, EmailStr, Field


class OrderItem(BaseModel):
    """One line of an order."""

    sku: str = Field(description="Stock keeping unit.")
    quantity: int = Field(ge=0, description="How many.")
    unit_price: Decimal = Field(description='Price of one, as a decimal string ("19.90"): exact, never a float.')


class OrderCreated(BaseModel):
    """Event published when a new order is created."""

    order_id: str = Field(description="Unique order id.")
    customer_email: EmailStr = Field(description="Where confirmations go.")
    items: list[OrderItem] = Field(description="What was ordered.")
    total_amount: Decimal = Field(description="Sum of the items, as a decimal string.")
    created_at: datetime = Field(description="When the order was placed (RFC 3339).")


class OrderAccepted(BaseModel):
    """Event published when fulfilment accepted an order."""

    order_id: str = Field(description="The accepted order.")
    item_count: int = Field(ge=0, description="Items to pick.")
    accepted_at: datetime = Field(description="When fulfilment accepted it.")


broker = KafkaBroker("127.0.0.1:9092")

# Publishes new order events (the order producer's only operation).
order_created = broker.publisher(
    "orders.created",
    title="ORDER_CREATED",
    description="Publishes new order events.",
    schema=OrderCreated,
)


@broker.subscriber("orders.created", group_id="fulfilment", description="Validate a freshly created order and accept it.")
@broker.publisher("orders.accepted", schema=OrderAccepted)
async def accept(order: OrderCreated) -> OrderAccepted:
    if not order.items:
        raise ValueError(f"order {order.order_id} has no items")
    return OrderAccepted(
        order_id=order.order_id,
        item_count=sum(i.quantity for i in order.items),
        accepted_at=datetime.now(timezone.utc),
    )


app = FastStream(
    broker,
    specification=AsyncAPI(title="order-service", version="0.1.0", description="The order service"),
)
