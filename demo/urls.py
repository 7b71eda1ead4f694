from django.urls import path

from demo import views

app_name = "demo"

urlpatterns = [
    path("", views.home, name="home"),
    path("products/", views.product_list, name="products"),
    path("products/<slug:slug>/", views.product_detail, name="product"),
    path("account/", views.account, name="account"),
    path("checkout/", views.checkout, name="checkout"),
    path("outside/", views.outside, name="outside"),
    path("privacy/", views.privacy_lab, name="privacy"),
    path("hostile/", views.hostile, name="hostile"),
    path("strict/", views.strict, name="strict"),
    path("locker/", views.locker, name="locker"),
    path("csp-report/", views.csp_report, name="csp-report"),
]
